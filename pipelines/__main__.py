"""Command line: `python -m pipelines materialize|ui|runs|demo|finance|desk`.

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

from pipelines.headless import materialize, prepare_environment, runs


def desk_web(host: str, port: int) -> int:
    """Serve the finance desk page until interrupted."""
    import uvicorn

    from pipelines.finance.desk import store as desk
    from pipelines.finance.desk.web import DeskSettings, check_binding, create_app

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
    from pipelines.finance.desk import cli as desk_cli

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
        from dev import dictionary as data_dictionary

        return data_dictionary.run(args.snapshot, args.check)
    if args.command == "demo":
        # The demo is a developer tool outside the code location (it drives the simulator).
        from dev.demo import run

        return run(args.orders, args.seed, args.port)
    return ui(args.host, args.port)


if __name__ == "__main__":
    code = main()
    # Everything is closed and recorded by now (DuckDB connections, the Dagster instance and
    # its run). Python's own teardown of the thousands of modules Dagster imports takes a
    # good part of a second after a run; the kernel frees the process at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
