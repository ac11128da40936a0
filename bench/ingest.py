"""Benchmark: the ingest service against a bare HMAC-checking Starlette app, in one run.

    python -m bench.ingest [--seconds 15] [--connections 64] [--rounds 2] [--workers 1]

Both servers run under the same uvicorn settings and get the same wrk load: 64 connections
POSTing a ~2 KB signed order body, each request with its own X-Violet-Event-Id. Rounds
alternate baseline/service so that drift on a shared machine hits both alike. After each service
round the service is stopped gracefully and its Parquet output is checked: every acknowledged
request must be there with its exact body. Results are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds

from ingest.probe import wait_ready
from ingest.signature import sign
from warehouse_files import layout

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef"
TARGET_RATIO = 0.6
TARGET_P99_MS = 50.0


def order_body() -> bytes:
    """A realistic ORDER_UPDATED body of about 2 KB (two bags, SKUs, one payment)."""
    bags = []
    for b in range(2):
        bags.append(
            {
                "id": 8147708 + b,
                "order_id": 5521877,
                "merchant_id": 10031 + b,
                "merchant_name": f"Northwind Outfitters {b}",
                "external_id": f"gid://shopify/Order/5{b}2219003",
                "status": "ACCEPTED",
                "fulfillment_status": "PROCESSING",
                "financial_status": "PAID",
                "skus": [
                    {
                        "id": 912000 + i,
                        "sku_id": 77120 + i,
                        "offer_id": 33100 + i,
                        "name": f"Merino crew sock, size {i}",
                        "quantity": 1 + i,
                        "price": 1800,
                        "line_price": 1800 * (1 + i),
                    }
                    for i in range(2)
                ],
                "sub_total": 5400,
                "shipping_total": 599,
                "tax_total": 432,
                "discount_total": 0,
                "total": 6431,
                "currency": "USD",
                "commission_rate": 15.0,
                "date_created": "2026-11-27T16:21:52+0000",
                "date_last_modified": "2026-11-27T16:25:02+0000",
            }
        )
    order = {
        "id": 5521877,
        "app_order_id": "A-1000231",
        "app_customer_id": "cus_77812",
        "customer": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "shipping_address": {
            "address_1": "12 Analytical Row",
            "city": "Portland",
            "state": "OR",
            "postal_code": "97205",
            "country": "US",
        },
        "bags": bags,
        "payment_transactions": [
            {
                "id": 4412001,
                "order_id": 5521877,
                "related_bags": ["8147708", "8147709"],
                "payment_provider": "STRIPE",
                "payment_provider_transaction_id": "pi_3Q0abcdEFGhijk",
                "amount": 12862,
                "currency": "USD",
                "capture_status": "CAPTURED",
                "date_last_modified": "2026-11-27T16:25:02+0000",
            }
        ],
        "sub_total": 10800,
        "shipping_total": 1198,
        "tax_total": 864,
        "discount_total": 0,
        "total": 12862,
        "currency": "USD",
        "status": "ACCEPTED",
        "channel": "APP",
        "date_created": "2026-11-27T16:21:52+0000",
        "date_last_modified": "2026-11-27T16:25:02+0000",
    }
    return json.dumps(order, separators=(",", ":")).encode()


def lua_script(body: bytes, signature: str) -> str:
    body_lua = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    return f"""
local counter = 0
local thread_id = 0
local tcount = 0
setup = function(thread) thread:set("tid", tcount); tcount = tcount + 1 end
init = function(args) thread_id = tid end
request = function()
  counter = counter + 1
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["X-Violet-Hmac"] = "{signature}"
  headers["X-Violet-Topic"] = "ORDER_UPDATED"
  headers["X-Violet-Webhook-Id"] = "wh-1"
  headers["X-Violet-Order-Id"] = "5521877"
  headers["X-Violet-Bag-Id"] = "8147708"
  headers["X-Violet-Event-Id"] = "bench-" .. thread_id .. "-" .. counter
  return wrk.format("POST", "/webhooks/violet", headers, "{body_lua}")
end
"""


@dataclass
class WrkResult:
    requests: int
    non_2xx: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float


def _to_ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        raise ValueError(f"unexpected wrk latency {value!r}")
    n, unit = float(m[1]), m[2]
    return n * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse_wrk(out: str) -> WrkResult:
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return WrkResult(
        requests=requests,
        non_2xx=int(non[1]) if non else 0,
        errors=sum(int(x) for x in errs.groups()) if errs else 0,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        p50_ms=_to_ms(lat["50"]),
        p99_ms=_to_ms(lat["99"]),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, port: int, data_dir: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VIOLET_APP_SECRET": SECRET, "VIOLET_DATA_DIR": str(data_dir)}
    py = sys.executable
    if kind == "baseline":
        cmd = [py, "-m", "uvicorn", "bench.baseline_app:app", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
        cmd += ["--log-level", "warning"]
    else:
        cmd = [py, "-m", "ingest", "serve", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--workers", str(workers)]
        env["VIOLET_LOG_LEVEL"] = "WARNING"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    probe = "/webhooks/violet" if kind == "baseline" else "/healthz"
    wait_ready(f"http://127.0.0.1:{port}{probe}", proc, 30.0, ok=lambda status: status < 500)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError("server did not stop within 60 s of SIGTERM") from None


def run_wrk(port: int, script: Path, seconds: int, connections: int, threads: int) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    cmd += ["-s", str(script), f"http://127.0.0.1:{port}/webhooks/violet"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return parse_wrk(out)


def check_durable(data_dir: Path, acked: int, body: bytes) -> tuple[int, bool]:
    """(rows stored, every stored body equal to the one sent); rows must be >= acked."""
    files = sorted(layout.raw_dir(data_dir).rglob("*.parquet"))
    if not files:
        return 0, False
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(
        columns=["body", "delivery_id"]
    )
    bodies = table.column("body").unique().to_pylist()
    return table.num_rows, bodies == [body]


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk not found; installing Debian's wrk package", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for both apps")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    ensure_wrk()

    body = order_body()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    script = work / "post.lua"
    script.write_text(lua_script(body, sign(SECRET, body)))
    results: dict[str, list[WrkResult]] = {"baseline": [], "service": []}
    durable_ok = True
    stored_total = acked_total = 0
    try:
        for rnd in range(args.rounds):
            for kind in ("baseline", "service"):
                data_dir = work / f"data-{kind}-{rnd}"
                port = free_port()
                proc = start(kind, port, data_dir, args.workers)
                try:
                    run_wrk(port, script, 2, args.connections, args.threads)  # warm-up
                    res = run_wrk(port, script, args.seconds, args.connections, args.threads)
                finally:
                    stop(proc)
                results[kind].append(res)
                line = (
                    f"round {rnd + 1} {kind:8s} {res.rps:9.0f} req/s  p50 {res.p50_ms:6.2f} ms"
                    f"  p99 {res.p99_ms:6.2f} ms  non-2xx {res.non_2xx}  socket errors {res.errors}"
                )
                if kind == "service":
                    stored, same = check_durable(data_dir, 0, body)
                    # Warm-up requests were acknowledged too: count them in `stored`, and require
                    # at least the measured acknowledgements.
                    acked = res.requests - res.non_2xx
                    ok = stored >= acked and same and res.non_2xx == 0
                    durable_ok &= ok
                    stored_total += stored
                    acked_total += acked
                    line += f"  stored {stored} >= acked {acked}: {'yes' if ok else 'NO'}"
                print(line, flush=True)
                shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base_rps = statistics.median(r.rps for r in results["baseline"])
    svc_rps = statistics.median(r.rps for r in results["service"])
    svc_p50 = statistics.median(r.p50_ms for r in results["service"])
    svc_p99 = max(r.p99_ms for r in results["service"])
    base_p50 = statistics.median(r.p50_ms for r in results["baseline"])
    base_p99 = max(r.p99_ms for r in results["baseline"])
    ratio = svc_rps / base_rps
    met = ratio >= TARGET_RATIO and svc_p99 <= TARGET_P99_MS and durable_ok
    summary = (
        f"baseline {base_rps:.0f} req/s (p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms); "
        f"service {svc_rps:.0f} req/s (p50 {svc_p50:.2f} ms, p99 {svc_p99:.2f} ms); "
        f"ratio {ratio:.2f} (target >= {TARGET_RATIO}), p99 target <= {TARGET_P99_MS:.0f} ms, "
        f"durable: {'all acknowledged deliveries stored' if durable_ok else 'NO'}"
        f" -> {'MET' if met else 'NOT MET'}"
    )
    print(summary)
    if not args.no_record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with args.results.open("a") as fh:
            fh.write(
                f"\n### ingest, {stamp}\n"
                f"- machine: {machine()}\n"
                f"- command: `make bench-ingest` (`python -m bench.ingest --seconds {args.seconds}"
                f" --connections {args.connections} --threads {args.threads} --rounds"
                f" {args.rounds} --workers {args.workers}`)\n"
                f"- body: {len(body)} bytes signed ORDER_UPDATED; medians over {args.rounds}"
                f" alternating rounds; p99 is the worst round\n"
                f"- {summary}\n"
                f"- rows stored {stored_total} vs requests acknowledged by wrk {acked_total}"
                " (stored includes warm-up requests)\n"
            )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
