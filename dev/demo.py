"""The main job end to end: ingest service <- simulated day of Violet traffic -> warehouse.

    python -m pipelines demo [--orders 2000] [--seed 1] [--port 8080]

Works in its own directory, data/demo (VIOLET_DEMO_DIR), emptied first (dev/demo_dir.py):
never the user's ./data. Starts the ingest service, sends a simulated day that ends at this
moment over HTTP with the simulator's `send`, stops the service (which seals every log segment
into Parquet), materializes every asset headlessly (recorded in <demo>/dagster_home, so the run
shows in the UI), and prints what landed where. Finance looks from the wall clock, as in
production; the day's truth (what finance must find) is written to <demo>/truth.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import httpx

from dev import demo_dir
from ingest.probe import NotReady, wait_ready
from pipelines.core.entities import CORE_ENTITIES
from pipelines.finance.build import queue
from pipelines.headless import materialize, prepare_environment
from simulator.options import Options, ending_now
from simulator.truth import write_truth

DEMO_SECRET = "violet-warehouse-demo-secret"  # noqa: S105 - used only when none is configured


def _metric(text: str, name: str) -> int:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _finance_summary(con: duckdb.DuckDBPyConnection) -> Counter[tuple[object, ...]]:
    """Print the open queue by kind and where the exports are; return the queue's rows."""
    as_of = con.execute("select max(as_of) from finance.exceptions").fetchone()
    rows = con.execute(
        "select kind, count(*), list(distinct currency order by currency) "
        "from finance.exceptions group by 1 order by 1"
    ).fetchall()
    print(f"finance: {sum(n for _, n, _ in rows)} open exceptions")
    for kind, n, currencies in rows:
        print(f"  {kind:<28} {n:>6,}  ({', '.join(currencies)})")
    if as_of and as_of[0] is not None:
        day = as_of[0].date().isoformat()
        print(f"  exports and summary.md: {os.environ['VIOLET_DATA_DIR']}/reports/{day}/")
    return queue(con)


def _injected(data_dir: Path, options: Options) -> Counter[tuple[object, ...]]:
    """The anomalies the simulator injected into the day it sent (its truth, written aside)."""
    out = data_dir / "truth"
    write_truth(options, out)
    with duckdb.connect() as con:
        return queue(con, "read_parquet(?)", [str(out / "exceptions.parquet")])


def run(orders: int, seed: int, port: int) -> int:
    try:
        os.environ["VIOLET_DATA_DIR"] = str(demo_dir.fresh(demo_dir.demo_dir()))
    except demo_dir.NotADemoDirectory as exc:
        raise SystemExit(f"error: {exc}") from None
    data_dir = prepare_environment()
    # The simulated day ends now: lag, graces and ages behave as they do in production.
    options = Options(seed=seed, orders=orders, start=ending_now(1))
    secret = os.environ.get("VIOLET_APP_SECRET") or DEMO_SECRET
    env = {**os.environ, "VIOLET_APP_SECRET": secret, "VIOLET_LOG_LEVEL": "WARNING"}
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    py = sys.executable

    print(f"1/4 starting the ingest service on {url} (log: {logs / 'ingest.log'})")
    with open(logs / "ingest.log", "ab") as log:
        server = subprocess.Popen(
            [py, "-m", "ingest", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            wait_ready(f"{url}/readyz", server)
        except NotReady as exc:
            raise SystemExit(f"the ingest service is not ready ({exc}); see {logs}") from None
        print(
            f"2/4 sending a simulated day ending now: {orders} orders, seed {seed}, "
            f"from {options.start.isoformat()}"
        )
        send = [py, "-m", "simulator", "send", "--url", f"{url}/webhooks/violet"]
        sent = subprocess.run(
            [
                *send,
                "--orders",
                str(orders),
                "--seed",
                str(seed),
                "--secret",
                secret,
                "--start",
                options.start.isoformat(),
            ],
            env=env,
            check=False,
        )
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    finally:
        print("3/4 stopping the service: every log segment is sealed into Parquet")
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
    if sent.returncode != 0:
        print("the simulator could not deliver everything; see above", file=sys.stderr)
        return 1
    accepted = _metric(metrics, "violet_ingest_deliveries_accepted_total")
    rejected = _metric(metrics, "violet_ingest_deliveries_rejected_total")

    print("4/4 materializing every asset (Dagster, headless)")
    if materialize(log_level="WARNING") != 0:
        return 1
    snapshot = data_dir / "analytics.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as con:

        def count(table: str) -> int:
            row = con.execute(f"select count(*) from {table}").fetchone()  # noqa: S608
            return int(row[0]) if row else 0

        print()
        print(f"deliveries accepted by the service this run: {accepted:,}")
        print(f"deliveries rejected (bad signature etc.):      {rejected:,}")
        print(f"deliveries in the warehouse:                   {count('staging.deliveries'):,}")
        print(f"unique logical events:                         {count('staging.events'):,}")
        print(f"quarantined deliveries:                        {count('staging.quarantine'):,}")
        for table in CORE_ENTITIES:
            print(f"  core.{table:<28} {count('core.' + table):>10,} rows")
        print()
        found = _finance_summary(con)
    truth = _injected(data_dir, options)
    if found == truth:
        print(f"finance.exceptions is exactly the {sum(truth.values())} anomalies the simulator "
              "injected (same kind, amount and ids)")  # fmt: skip
    else:
        print(
            "finance.exceptions differs from the simulator's injected anomalies "
            f"(missing {sum((truth - found).values())}, extra {sum((found - truth).values())});"
            " expected when the data directory also holds other traffic"
        )
    print()
    query = "select status, count(*) from core.orders group by 1"
    print(
        'analysts: .venv/bin/python -c "import duckdb; print(duckdb.connect('
        f"'{snapshot}', read_only=True).sql('{query}'))\""
    )
    print(f"DuckDB 1.x CLI: make duckdb1 && .venv-duckdb1/bin/duckdb -readonly {snapshot}")
    print(
        f"notebooks with charts: make notebooks VIOLET_DATA_DIR={data_dir}  "
        "(JupyterLab on http://127.0.0.1:8888)"
    )
    print(
        f"the Dagster UI with this run in its history: make ui VIOLET_DATA_DIR={data_dir} "
        "(http://127.0.0.1:3000)"
    )
    print(f"the finance desk on this queue: make desk VIOLET_DATA_DIR={data_dir}")
    return 0
