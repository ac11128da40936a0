"""Command line: `python -m pipelines materialize` (headless run) and `python -m pipelines ui`.

Both use VIOLET_DATA_DIR (default ./data) and keep Dagster's instance in
<data>/dagster_home, so a headless run shows in the UI's run history and sensor cursors and
schedule state survive restarts.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

DAGSTER_YAML = """\
# Written by violet-warehouse on first use; edit freely.
concurrency:
  pools:
    # Every asset runs in pool "warehouse": one step at a time writes warehouse.duckdb.
    default_limit: 1
telemetry:
  enabled: false
# Dagster's SQLite event log, keeping its connections open (pipelines/event_log.py): the same
# files as the default, ~3 s less bookkeeping per run. Remove these lines for the stock class.
event_log_storage:
  module: pipelines.event_log
  class: PooledSqliteEventLogStorage
"""


def prepare_environment() -> Path:
    """Resolve the data directory and point DAGSTER_HOME into it; return the data directory."""
    data_dir = Path(os.environ.get("VIOLET_DATA_DIR") or "data").resolve()
    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["VIOLET_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(home)
    return data_dir


def materialize(log_level: str = "INFO") -> int:
    data_dir = prepare_environment()
    import dagster as dg

    from pipelines import stale_runs
    from pipelines.definitions import defs

    job = defs.resolve_job_def("warehouse_job")
    with dg.DagsterInstance.get() as instance:
        for run in stale_runs.sweep(instance):
            print(f"freed stale run {run.run_id} ({run.reason}; slots: {list(run.slots)})")
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        failed_checks = [
            f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:"
            f"{e.asset_check_evaluation_data.check_name}"
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.asset_check_evaluation_data is not None
            and not e.asset_check_evaluation_data.passed
        ]
    print(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'} ({data_dir})")
    for name in failed_checks:
        print(f"  check did not pass: {name}")
    return 0 if result.success else 1


def runs(free: bool) -> int:
    """List (and with `free`, end and free) runs that hold the warehouse pool but are gone."""
    prepare_environment()
    import dagster as dg

    from pipelines import stale_runs

    with dg.DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info(stale_runs.POOL)
        claimed = [f"{s.run_id} ({s.step_key})" for s in info.claimed_slots]
        print(f"pool {stale_runs.POOL}: limit {info.slot_count}, held by: {claimed or 'nobody'}")
        stale = stale_runs.find(instance)
        for run in stale:
            print(f"stale run {run.run_id}: {run.status}, {run.reason}; slots: {list(run.slots)}")
        if not stale:
            print("no stale runs")
        elif free:
            stale_runs.free(instance, stale)
            print(f"freed {len(stale)} stale run(s)")
        else:
            print("free them with: python -m pipelines runs --free")
    return 0


def desk_web(host: str, port: int) -> int:
    """Serve the finance desk page until interrupted."""
    import uvicorn

    from pipelines import desk
    from pipelines.desk_web import DeskSettings, check_binding, create_app

    data_dir = prepare_environment()
    token = os.environ.get("VIOLET_DESK_TOKEN", "")
    try:
        check_binding(host, token)
    except desk.DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"finance desk on http://{host}:{port}/ ({data_dir})", flush=True)
    uvicorn.run(
        create_app(DeskSettings(data_dir, token)), host=host, port=port, log_level="warning"
    )
    return 0


def ui(host: str, port: int) -> int:
    prepare_environment()
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions"]
    cmd += ["-h", host, "-p", str(port)]

    def default_signals() -> None:
        # Started in the background from a script, we inherit SIGINT ignored; so would
        # `dagster dev`, which then could not be stopped. Give it the default handlers.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    proc = subprocess.Popen(cmd, preexec_fn=default_signals)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("materialize", help="run every asset once, headlessly; non-zero on failure")
    demo = sub.add_parser("demo", help="the main job end to end: service, traffic, warehouse")
    demo.add_argument("--orders", type=int, default=2000, help="orders in the simulated day")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=int, default=8080)
    runs_cmd = sub.add_parser(
        "runs", help="list runs that hold the warehouse pool but are dead; --free frees them"
    )
    runs_cmd.add_argument("--free", action="store_true", help="end the dead runs, free slots")
    from pipelines import desk_cli

    desk_cmd = sub.add_parser(
        "finance", help="work the exceptions queue: queue, show, ack, assign, comment, ..."
    )
    desk_cli.add_arguments(desk_cmd)
    web = sub.add_parser("desk", help="the finance desk web page (queue, details, actions)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8090)
    dictionary = sub.add_parser(
        "dictionary", help="regenerate docs/dictionary.md from a built warehouse's COMMENTs"
    )
    dictionary.add_argument("--snapshot", type=Path, help="read this snapshot, build none")
    dictionary.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    ui_cmd = sub.add_parser("ui", help="start the Dagster UI (webserver + daemon)")
    ui_cmd.add_argument("--host", default="127.0.0.1")
    ui_cmd.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.command == "materialize":
        return materialize()
    if args.command == "finance":
        return desk_cli.run(args, prepare_environment())
    if args.command == "desk":
        return desk_web(args.host, args.port)
    if args.command == "runs":
        return runs(args.free)
    if args.command == "dictionary":
        from pipelines import dictionary as data_dictionary

        return data_dictionary.run(args.snapshot, args.check)
    if args.command == "demo":
        from pipelines.demo import run

        return run(args.orders, args.seed, args.port)
    return ui(args.host, args.port)


if __name__ == "__main__":
    code = main()
    # Everything is closed and recorded by now (DuckDB connections, the Dagster instance and
    # its run). Python's own teardown of the thousands of modules Dagster imports takes ~0.6 s
    # after a run on these machines; the kernel frees the process at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
