"""The finance desk in a real browser: Debian's chromium (headless), driven by selenium through
chromium-driver, against the real `python -m pipelines desk` on 127.0.0.1 and real
`python -m pipelines materialize` runs. Open the queue, act on one exception through its forms,
run the next materialization, see the action on the exception's page, in the queue and in the
next export. Without chromium the test fails (make test installs it), it never skips."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from ingest.sealer import seal
from warehouse_files import layout

from .handmade import T0, Bag, Order, World
from .test_desk_web import serve

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AS_OF = (T0 + timedelta(hours=10)).isoformat()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: the browser test needs Debian's chromium and "
            "chromium-driver (`make test` installs them: apt-get install -y chromium "
            "chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # This machine's network is closed: no background connections, no first-run work.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def act(browser: WebDriver, form_id: str, **fields: str) -> None:
    """Fill one action form and submit it; wait for the page it leads to (the exception's)."""
    form = browser.find_element(By.ID, form_id)
    for name, value in fields.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    form.find_element(By.TAG_NAME, "button").click()
    wait = WebDriverWait(browser, 60, ignored_exceptions=[StaleElementReferenceException])
    wait.until(expected_conditions.staleness_of(form))
    wait.until(expected_conditions.presence_of_element_located((By.ID, "history")))


def materialize(data_dir: Path) -> None:
    env = {**os.environ, "VIOLET_DATA_DIR": str(data_dir), "VIOLET_FINANCE_AS_OF": AS_OF}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "materialize"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def exported(data_dir: Path, exception_id: str) -> dict[str, str]:
    path = data_dir / "reports" / AS_OF[:10] / "exceptions.csv"
    with open(path, newline="") as fh:
        return next(r for r in csv.DictReader(fh) if r["exception_id"] == exception_id)


def test_working_the_queue_in_a_browser(browser: WebDriver, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    w = World(tmp_path / "world")
    w.merchant(10)
    for n, sub in enumerate((10_000, 50_000)):
        w.order(Order(100 + n, [Bag(200 + n, order_id=100 + n, merchant_id=10, sub_total=sub)],
                      300 + n), at=1)  # fmt: skip
    seal(w.records, layout.raw_dir(data_dir), "handmade", 1)
    materialize(data_dir)
    for url in serve(data_dir):
        browser.get(url + "/")
        rows = browser.find_elements(By.CSS_SELECTOR, "table#queue tr td:first-child a")
        assert len(rows) == 2
        exception_id = rows[0].text  # the largest money at stake comes first
        rows[0].click()
        WebDriverWait(browser, 60).until(
            expected_conditions.presence_of_element_located((By.ID, "form-assign"))
        )
        assert browser.find_element(By.TAG_NAME, "h1").text == exception_id
        assert browser.find_element(By.ID, "status").text == "open"

        act(browser, "form-assign", owner="dana", actor="erin")
        act(browser, "form-ack", note="calling the merchant", actor="erin")

        # Recorded at once in the desk's store (its history), shown in the queue after a run.
        history = browser.find_element(By.ID, "history").text
        assert "erin assign dana" in history
        assert "erin ack" in history
        assert browser.find_element(By.ID, "status").text == "open"

        materialize(data_dir)
        browser.get(f"{url}/exceptions/{exception_id}")
        assert browser.find_element(By.ID, "status").text == "acknowledged"
        assert browser.find_element(By.ID, "owner").text == "dana"
        browser.get(url + "/")
        first = browser.find_element(By.CSS_SELECTOR, "table#queue tr:nth-child(2)").text
        assert exception_id in first
        assert "acknowledged" in first
        assert "dana" in first
    row = exported(data_dir, exception_id)
    assert (row["status"], row["owner"], row["note"]) == (
        "acknowledged", "dana", "calling the merchant"
    )  # fmt: skip
    assert row["acknowledged_at"].endswith("Z")
