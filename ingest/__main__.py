"""Command line: `python -m ingest serve --host H --port P --workers N`."""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile

from ingest.logs import log_config
from ingest.metrics import MULTIPROC_ENV
from ingest.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the webhook receiver")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes, each with its own log (default 1)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"ingest: cannot start: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("ingest: cannot start: --workers must be at least 1", file=sys.stderr)
        return 2

    import uvicorn

    if args.workers > 1:
        # Set before any worker imports prometheus_client, so all of them aggregate.
        metrics_dir = tempfile.mkdtemp(prefix="violet-ingest-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, True)
    uvicorn.run(
        "ingest.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(settings.log_level, settings.access_log),
        access_log=settings.access_log,
        server_header=False,
        # uvicorn's httptools protocol plus bounds on head size and time and on connections.
        http="ingest.protocol:BoundedHttpToolsProtocol",
        ws="none",
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        # A stop closes requests still arriving at once (ingest.protocol); this bounds the
        # wait for those already received, should answering them hang.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
