"""The README's by-hand example, as a new user runs it: the real service on a scratch data
directory, the README's own signed body, one `python -m pipelines materialize`. It implies one
order and one CAPTURE_MISSING, and its date (2026-11-27) moves no clock; the demo directory is
only ever emptied when the demo made it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import pytest

from dev import demo_dir
from tests.support import Server

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> tuple[bytes, dict[str, str], str]:
    """The body, headers and secret of the README's curl (the secret from .env.example)."""
    text = (ROOT / "README.md").read_text()
    body = re.search(r"^body='(.*)'$", text, re.M)
    assert body is not None, "the README has no by-hand body"
    headers = dict(re.findall(r"-H '([A-Za-z-]+): ([^']*)'", text))
    assert "X-Violet-Topic" in headers
    secret = re.search(r"^VIOLET_APP_SECRET=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    assert secret is not None
    assert f"-hmac '{secret[1]}'" in text, "the README signs with another secret than .env's"
    return body[1].encode(), headers, secret[1]


def test_the_readme_example_implies_one_order_and_one_missing_capture(tmp_path: Path) -> None:
    body, headers, secret = readme_example()
    scratch = tmp_path / "scratch"
    server = Server(scratch, env={"VIOLET_APP_SECRET": secret}).start()
    try:
        sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        answer = httpx.post(
            f"{server.url}/webhooks/violet", content=body,
            headers={**headers, "X-Violet-Hmac": sig}, timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()
    before = datetime.now(UTC)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VIOLET_")},
           "VIOLET_DATA_DIR": str(scratch)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "materialize"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with duckdb.connect(str(scratch / "analytics.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from staging.events").fetchone() == (1,)
        assert con.execute("select id, status, total_minor, currency from core.orders").fetchall() \
            == [(5521877, "ACCEPTED", 12862, "USD")]  # fmt: skip
        rows = con.execute(
            "select kind, amount_minor, currency, order_id, as_of from finance.exceptions"
        ).fetchall()
    assert [r[:4] for r in rows] == [("CAPTURE_MISSING", 12862, "USD", 5521877)]
    # finance's clock is the run's, not the order's 2026-11-27
    assert before <= rows[0][4] <= datetime.now(UTC)


def test_only_a_demo_directory_is_emptied(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "warehouse.duckdb").write_text("not the demo's")
    with pytest.raises(demo_dir.NotADemoDirectory, match="VIOLET_DEMO_DIR"):
        demo_dir.fresh(mine)
    assert (mine / "warehouse.duckdb").read_text() == "not the demo's"
    demo = demo_dir.fresh(tmp_path / "demo")
    (demo / "raw").mkdir()
    (demo / "raw" / "old.parquet").write_text("an earlier demo's")
    assert sorted(p.name for p in demo_dir.fresh(demo).iterdir()) == [demo_dir.MARKER]
    assert demo_dir.demo_dir({}) == (Path.cwd() / "data" / "demo").resolve()
