"""`python -m simulator send|write|truth`: one world, three ways to use it.

    python -m simulator send  --url http://127.0.0.1:8080/webhooks/violet --orders 2000
    python -m simulator write --data-dir ./data --orders 80000
    python -m simulator truth --out ./truth --orders 2000

Every command takes the same world options (--seed, --orders, --start, --days, the rates and the
grace periods); equal options give the same world, so `truth` describes what `send` or `write`
produced. The app secret (--secret, default $VIOLET_APP_SECRET) only signs deliveries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path

from simulator import anomalies, send, stream, truth, write
from simulator.options import (
    DEFAULT_ANOMALY_RATE,
    Grace,
    Options,
    OptionsError,
    StreamRates,
    ending_now,
    parse_start,
)

_QUIRKS = {
    "retry": "an event delivered again with the same X-Violet-Event-Id",
    "resend": "an event resent with a new id and X-Violet-Event-Id-Source",
    "out_of_order": "a version delivered after the next version of its entity",
    "late": "a first delivery 10-15 min late instead of seconds",
    "z_timestamp": "whole-second timestamps of a body written '...Z' instead of '+0000'",
    "alt_spelling": "ORDER_CANCELED / TRANSFER_PARTIALLY_REFUNDED instead of the usual spelling",
    "updated_beside": "ORDER_UPDATED / CAPTURE_STATUS_UPDATED sent beside a specific topic",
    "bad_signature": "an extra copy signed with the wrong secret (401, not stored)",
    "not_json": "an extra genuine delivery whose body is not JSON",
    "unknown_topic": "an extra genuine delivery of a topic of no known family",
    "missing_event_id": "an event delivered without X-Violet-Event-Id",
    "missing_topic": "an extra copy of a delivery without X-Violet-Topic",
    "new_family_topic": "an extra genuine event of the same version under an undocumented "
    "topic of the entity's family (e.g. ORDER_ON_HOLD)",
}
_SECRET_ENV = "VIOLET_APP_SECRET"  # noqa: S105 (the variable's name, not a secret)


def _anomaly(text: str) -> tuple[str, float]:
    kind, sep, rate = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KIND=RATE, got {text!r}")
    kind = kind.strip().upper()
    if kind != "ALL" and kind not in anomalies.KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown anomaly kind {kind!r}; one of ALL, {', '.join(anomalies.KINDS)}"
        )
    try:
        return kind, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate must be a number, got {rate!r}") from None


def _start(text: str) -> date | datetime:
    try:
        return parse_start(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _world_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("world")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument("--orders", type=int, default=1000, help="orders in the span (default 1000)")
    g.add_argument(
        "--start",
        type=_start,
        default=None,
        help="first instant of the span: a date (its midnight, UTC) or an ISO-8601 time "
        "(default: --days before now, so the span ends at the moment the command starts; "
        "pass the start it prints to get the same world again)",
    )
    g.add_argument("--days", type=int, default=1, help="length of the span in days (default 1)")
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"processes generating the world (default {stream.default_workers()}); "
        "never changes the output",
    )
    g.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where the stream is spilled while generated, ~1.5 kB per delivery "
        "(default: the system temp dir; for write: --data-dir)",
    )
    g.add_argument(
        "--api-fields",
        action="store_true",
        help="also put the fields of Violet's API objects (Refund, TransferReversal) into "
        "payloads: bag refunds[], transfer merchant_id, transfer_reversals[], "
        "related_distribution_ids, refund_id on reversal errors; the world is otherwise the same",
    )
    rates = p.add_argument_group("delivery quirks (probabilities per event or version)")
    for f in fields(StreamRates):
        flag = "--" + f.name.replace("_", "-") + "-rate"
        rates.add_argument(
            flag,
            dest=f"rate_{f.name}",
            type=float,
            default=f.default,
            metavar="P",
            help=f"{_QUIRKS[f.name]} (default {f.default})",
        )
    g = p.add_argument_group("money anomalies")
    g.add_argument(
        "--anomaly",
        type=_anomaly,
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"fraction of orders with this anomaly (default {DEFAULT_ANOMALY_RATE} each; "
        "ALL=RATE sets every kind; repeatable)",
    )
    grace = p.add_argument_group("grace periods the truth assumes")
    for f in fields(Grace):
        grace.add_argument(
            "--" + f.name.replace("_", "-"),
            type=float,
            default=f.default,
            metavar="N",
            help=f"(default {f.default})",
        )


def options_from(args: argparse.Namespace) -> Options:
    rates = dict.fromkeys(anomalies.KINDS, DEFAULT_ANOMALY_RATE)
    for kind, rate in args.anomaly:
        if kind == "ALL":
            rates = dict.fromkeys(anomalies.KINDS, rate)
        else:
            rates[kind] = rate
    return Options(
        seed=args.seed,
        orders=args.orders,
        start=args.start if args.start is not None else ending_now(args.days),
        days=args.days,
        stream=StreamRates(
            **{f.name: getattr(args, f"rate_{f.name}") for f in fields(StreamRates)}
        ),
        anomaly_rates=rates,
        grace=Grace(**{f.name: getattr(args, f.name) for f in fields(Grace)}),
        api_fields=args.api_fields,
    )


def _secret(args: argparse.Namespace) -> str:
    secret: str | None = args.secret or os.environ.get(_SECRET_ENV)
    if not secret:
        raise OptionsError(f"no app secret: pass --secret or set {_SECRET_ENV}")
    return secret


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("send", help="POST the stream to a running ingest service")
    s.add_argument("--url", default="http://127.0.0.1:8080/webhooks/violet")
    s.add_argument("--secret", default=None, help=f"app secret (default ${_SECRET_ENV})")
    s.add_argument("--concurrency", type=int, default=32)
    s.add_argument("--max-attempts", type=int, default=5)
    s.add_argument("--backoff-base", type=float, default=0.25, help="seconds (default 0.25)")
    s.add_argument("--backoff-cap", type=float, default=4.0, help="seconds (default 4)")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    s.add_argument("--allow-remote", action="store_true", help="allow a non-loopback host")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _world_arguments(s)

    w = sub.add_parser("write", help="seal the stored deliveries into DIR/raw/violet")
    w.add_argument("--data-dir", type=Path, required=True)
    w.add_argument("--secret", default=None, help=f"app secret (default ${_SECRET_ENV})")
    w.add_argument("--secret-id", default=write.DEFAULT_SECRET_ID, help="recorded secret_id")
    w.add_argument("--segment-records", type=int, default=write.SEGMENT_RECORDS)
    _world_arguments(w)

    t = sub.add_parser("truth", help="write the expected outcome (summary, entities, exceptions)")
    t.add_argument("--out", type=Path, required=True)
    _world_arguments(t)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        options = options_from(args)
        if args.command == "send":
            return _send(args, options)
        if args.command == "write":
            result = write.write_raw(
                options,
                args.data_dir,
                secret=_secret(args),
                secret_id=args.secret_id,
                segment_records=args.segment_records,
                workers=args.workers,
                tmp_dir=args.tmp_dir,
            )
            print(
                json.dumps(
                    {
                        "start": options.start.isoformat(),
                        "records": result.records,
                        "segments": result.segments,
                        "files": len(result.files),
                        "raw_dir": str(write.raw_dir_of(args.data_dir)),
                        "generate_s": round(result.generate_s, 2),
                        "seal_s": round(result.seal_s, 2),
                    }
                )
            )
            return 0
        result_summary = truth.write_truth(
            options, args.out, workers=args.workers, tmp_dir=args.tmp_dir
        )
        brief = {
            k: result_summary[k]
            for k in ("genuine_stored_deliveries", "logical_events", "exceptions", "as_of")
        }
        print(json.dumps({"out": str(args.out), **brief}))
        return 0
    except (OptionsError, send.RemoteHostRefused) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _send(args: argparse.Namespace, options: Options) -> int:
    send.check_url(args.url, args.allow_remote)
    secret = _secret(args)
    with stream.generate(
        options, secret=secret, form=stream.SEND, workers=args.workers, tmp_dir=args.tmp_dir
    ) as world:
        result = send.send_stream(
            world.deliveries(),
            args.url,
            concurrency=args.concurrency,
            max_attempts=args.max_attempts,
            backoff_base_s=args.backoff_base,
            backoff_cap_s=args.backoff_cap,
            timeout_s=args.timeout,
            allow_remote=args.allow_remote,
            progress=not args.quiet and sys.stderr.isatty(),
            total=world.counts.deliveries,
        )
    print(json.dumps({**result.as_dict(), "start": options.start.isoformat()}))
    if result.bad_signature_accepted:
        print(
            f"error: {result.bad_signature_accepted} deliveries with a bad signature were "
            "acknowledged",
            file=sys.stderr,
        )
    if result.failed:
        print(f"error: {result.failed} genuine deliveries were never acknowledged", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
