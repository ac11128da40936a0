"""The finance desk page, served by the real `python -m pipelines desk` on 127.0.0.1: the queue,
filters, one exception with its history, actions through its forms, the access token."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pipelines.finance.build import build_finance
from pipelines.finance.desk import store as desk
from pipelines.finance.desk.web import check_binding
from pipelines.resources import FinanceSettings
from tests.support import free_port

from .handmade import T0, Bag, Order, World

ROOT = Path(__file__).resolve().parents[2]


def published(data_dir: Path) -> list[str]:
    """A small world whose snapshot holds two exceptions; their ids, largest at stake first."""
    w = World(data_dir)
    w.merchant(10)
    for n, sub in enumerate((10_000, 50_000)):
        w.order(Order(100 + n, [Bag(200 + n, order_id=100 + n, merchant_id=10, sub_total=sub)],
                      300 + n), at=1)  # fmt: skip
    con = w.build(as_of_hours=10)
    build_finance(con, FinanceSettings(as_of=(T0 + timedelta(hours=10)).isoformat()))
    ids = [r[0] for r in con.execute(
        "select exception_id from finance.exceptions order by amount_minor desc"
    ).fetchall()]  # fmt: skip
    con.execute("checkpoint")
    con.close()
    shutil.copyfile(data_dir / "warehouse.duckdb", data_dir / "analytics.duckdb")
    return ids


def serve(data_dir: Path, token: str = "") -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir), "VIOLET_DESK_TOKEN": token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "desk", "--port", str(port)],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    data_dir = tmp_path / "data"
    ids = published(data_dir)
    for url in serve(data_dir):
        yield url, data_dir, ids


def test_the_queue_its_filters_and_acting_through_the_forms(
    site: tuple[str, Path, list[str]],
) -> None:
    url, data_dir, ids = site
    page = httpx.get(url + "/")
    assert page.status_code == 200
    assert page.text.index(ids[0]) < page.text.index(ids[1])  # money at stake first
    assert "Merchant 10" in page.text
    assert ids[0] not in httpx.get(url + "/", params={"min_age": "100"}).text
    detail = httpx.get(f"{url}/exceptions/{ids[0]}")
    assert detail.status_code == 200
    assert "TRANSFER_MISSING" in detail.text
    done = httpx.post(
        f"{url}/exceptions/{ids[0]}/actions",
        data={"action": "assign", "owner": "dana", "actor": "erin", "note": "<b>mine</b>"},
    )
    assert done.status_code == 303
    shown = httpx.get(f"{url}/exceptions/{ids[0]}").text
    assert "erin" in shown
    assert "dana" in shown
    assert "&lt;b&gt;mine&lt;/b&gt;" in shown  # escaped, never markup
    refused = httpx.post(f"{url}/exceptions/{ids[0]}/actions", data={"action": "resolve"})
    assert refused.status_code == 400
    assert "reason" in refused.text
    assert httpx.get(f"{url}/exceptions/EX-0000000000000000").status_code == 404
    assert [a[2] for a in desk.actions(desk.path(data_dir))] == ["assign"]


def test_an_access_token_guards_the_page(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    published(data_dir)
    with pytest.raises(desk.DeskError, match="VIOLET_DESK_TOKEN"):
        check_binding("0.0.0.0", "")
    check_binding("0.0.0.0", "s3cret")
    check_binding("127.0.0.1", "")
    for url in serve(data_dir, token="s3cret"):
        assert httpx.get(url + "/").status_code == 401
        assert httpx.get(url + "/", params={"token": "nope"}).status_code == 401
        with httpx.Client(base_url=url) as browser:
            opened = browser.get("/", params={"token": "s3cret"}, follow_redirects=True)
            assert opened.status_code == 200
            assert "token" not in str(opened.url)
        bearer = httpx.get(url + "/", headers={"Authorization": "Bearer s3cret"})
        assert bearer.status_code == 200
