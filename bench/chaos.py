"""`make chaos`: the long runs of the chaos suite (tests/chaos), written to bench/RELIABILITY.md.

    python -m bench.chaos [--quick] [--out bench/RELIABILITY.md] [--only crash,pipeline,...]

Runs, on this machine, against real processes on 127.0.0.1: >= 100 kill -9 of the service and
its sealing process under Violet-like traffic (every kind of kill, in rounds of one simulated
world each, each round checked byte for byte and against the simulator's truth); kill -9 of
`python -m pipelines materialize` in every step, three rounds; full disks and failing disks;
every kind of abuse on its own and all at once; >= 10,000 fuzzed requests and 100 batches of
odd payloads; a 10-minute soak. A fault that is not fixed yet shows as FAILED with what was
found: the report says what happened, and the exit status is 1 if anything failed.
`--quick` runs each part small (minutes), to try the command itself.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.ingest import machine
from simulator.anomalies import KINDS as ANOMALIES
from simulator.options import Options
from tests.chaos import abuse, crash, disk, fuzz, pipeline, soak
from tests.chaos.service import percentile

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Section:
    title: str
    injected: str
    checked: str
    lines: list[str] = field(default_factory=list)  # markdown: tables and notes
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        return "passed" if not self.problems else f"FAILED ({len(self.problems)} findings)"


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _f(x: float) -> str:
    return "-" if x != x else f"{x:,.1f}"  # NaN: nothing measured


def run_crash(work: Path, quick: bool) -> Section:
    s = Section(
        "Crash loops under load (kill -9 of the service and of its sealing process)",
        "Rounds of one simulated world each (500 orders over 2 days, every money anomaly, "
        "Violet's retries, resends, out-of-order and bad deliveries), sent by 16 Violet-like "
        "senders at 300 deliveries/s (only a 2xx counts; the same event is resent after a "
        "back-off otherwise). Meanwhile kill -9, one of each kind per round in turn: of the "
        "whole service (its process group) or of the sealing process alone, at a random "
        "moment, as a Parquet temp file is created (mid-seal), right after a sealed file's "
        "rename, while its log segment is being released (the service is stopped by SIGSTOP "
        "at the rename and let run in slices of 10-60 µs until the segment changes, then "
        "killed), and while a restarted service recovers the segments left behind. Moments "
        "are seen with inotify on the data directory; no hook in the code under test.",
        "After a graceful stop: every attempt answered 2xx is in raw Parquet exactly once, "
        "with the same bytes and SHA-256 (each attempt carries its own header, so rows are "
        "matched to acknowledgements); no row of a bad signature, no row nobody sent, no "
        "log segment or temp file left; the warehouse built from raw (load_staging, "
        "build_core, build_ops, build_finance) equals the simulator's truth: every core "
        "table's current state, the number of logical events, finance's exception queue.",
    )
    rounds = 1 if quick else 12
    rows = []
    totals = {"sent": 0, "attempts": 0, "acked": 0, "stored": 0, "lost": 0, "dup": 0}
    kills: dict[str, int] = {}
    missed: dict[str, int] = {}
    for r in range(rounds):
        seed = 100 + r
        world = Options(seed=seed, orders=500, days=2, anomaly_rates=dict.fromkeys(ANOMALIES, 0.01))
        res = crash.crash_loop(work / f"crash-{r}", world, kills=len(crash.KINDS), seed=seed)
        for k, n in res.kills.items():
            kills[k] = kills.get(k, 0) + n
        for k, n in res.missed.items():
            missed[k] = missed.get(k, 0) + n
        raw = res.raw
        totals["sent"] += res.ledger.deliveries
        totals["attempts"] += len(res.ledger.bodies)
        totals["acked"] += raw.acked
        totals["stored"] += raw.stored_acked
        totals["lost"] += len(raw.lost)
        totals["dup"] += len(raw.duplicated)
        rows.append(
            [
                r + 1,
                seed,
                res.total_kills,
                res.ledger.deliveries,
                len(res.ledger.bodies),
                raw.acked,
                raw.stored_acked,
                raw.stored_unacked,
                len(raw.lost),
                len(raw.duplicated),
                "equal"
                if not any(
                    "truth" in p or p.startswith("core.") or "staging.events" in p
                    for p in res.problems
                )
                else "DIFFERS",
                f"{res.seconds:.0f}",
            ]
        )
        s.problems += [f"round {r + 1}: {p}" for p in res.problems]
    s.lines += _table(
        [
            "round",
            "seed",
            "kills",
            "deliveries sent",
            "attempts",
            "acknowledged",
            "stored (of acked)",
            "stored, not acked",
            "lost",
            "stored twice",
            "warehouse vs truth",
            "s",
        ],
        rows,
    )
    s.lines += [
        "",
        f"Total: **{sum(kills.values()) + sum(missed.values())} kills** "
        f"({', '.join(f'{k} {n}' for k, n in sorted(kills.items()))}"
        + (f"; moment not seen in time, killed anyway: {missed}" if missed else "")
        + f"); {totals['sent']:,} deliveries sent in {totals['attempts']:,} attempts, "
        f"**{totals['acked']:,} acknowledged, {totals['stored']:,} stored, "
        f"{totals['lost']:,} lost**, {totals['dup']:,} stored twice.",
    ]
    return s


def run_pipeline(work: Path, quick: bool) -> Section:
    s = Section(
        "Pipeline crashes (kill -9 of `python -m pipelines materialize` in each step)",
        "A world of 300 orders over 2 days written as raw files; a first run publishes a "
        "snapshot from half of them, then the rest arrive and runs are killed (process "
        "group, SIGKILL) inside each step in turn: staging (`staging_load`), core "
        "(`core_entities`), checks (`core_integrity`), finance (`finance_marts`), ops "
        "(`ops_health`) and publish (`analytics_snapshot`, as its temp copy is created). "
        "The moment comes from the run's own Dagster event log (a step started and not "
        "finished), read-only.",
        "After each kill: analytics.duckdb is byte for byte the last good one (or, killed "
        "after the rename, the new complete one) and every table reads the same. After the "
        "kills: the next run finishes within 120 s (a slot of the `warehouse` pool held by a "
        "dead run would make it wait forever) and succeeds; the warehouse and the snapshot "
        "equal a clean rebuild of the same raw files (all of staging, core, ops and finance "
        "but the run history: load times, run ids, finance.exception_log, first-seen dates).",
    )
    rounds = 1 if quick else 3
    res = pipeline.pipeline_kills(
        work / "pipeline",
        Options(seed=21, orders=300, days=2, anomaly_rates=dict.fromkeys(ANOMALIES, 0.01)),
        rounds=rounds,
        seed=21,
    )
    s.lines += _table(
        ["step", "attempt", "killed inside the step", "after (s)", "snapshot intact", "note"],
        [
            [k.step, k.attempt, k.killed_in_step, f"{k.after_s:.2f}", k.snapshot_intact, k.note]
            for k in res.kills
        ],
    )
    s.lines += [
        "",
        f"{len(res.kills)} kills in {rounds} round(s); first run {res.baseline_run_s:.1f} s, run "
        f"after the kills {_f(res.final_run_s if res.final_run_s is not None else math.nan)} s.",
    ]
    s.problems += res.problems
    return s


def run_disk(work: Path, quick: bool) -> Section:
    s = Section(
        "Disk full and I/O errors",
        "Disk full: the data directory is a 48 MiB tmpfs and `raw/` an 8 MiB one inside it, "
        "both mounted by the run (root); ballast files fill the raw store (sealing fails), "
        "then the log's file system too, then are deleted; one signed delivery after another "
        "throughout, /readyz every 20. I/O errors: the data directory is ext4 on a loop "
        "device over a 24 MiB tmpfs file (the file system says 96 MiB): once the backing "
        "store is full every write-back and fdatasync gets EIO and ext4 aborts its journal; "
        "then the service is killed (a power cut), the image is copied to a good disk and "
        "mounted there (journal replayed as after a reboot), the log copied off block by "
        "block, and a fresh service recovers it. Run with ext4's `errors=continue` (mke2fs's "
        "default here) and `errors=remount-ro`. I/O errors reported by the kernel: the "
        "service runs under strace, which fails a window of its log's fdatasync calls and "
        "some of its sealing process's fsync calls with EIO.",
        "Only 200 or 503 (with Retry-After) ever; no 2xx while the log's disk is full; 2xx "
        "again by itself once space is back, and the unsealed backlog sealed (no restart); "
        "/readyz's reason without OS error text; every 2xx in raw exactly once, same bytes "
        "(for EIO: in what the disk really holds after the reboot).",
    )
    res = disk.disk_full(work / "disk-full")
    s.lines += _table(
        ["phase", "answers", "good p50 ms", "good p99 ms", "/readyz when not ready"],
        [
            [
                p.name,
                dict(p.statuses),
                _f(percentile(p.latencies_ms, 50)),
                _f(percentile(p.latencies_ms, 99)),
                (p.readyz[0][:90] if p.readyz else ""),
            ]
            for p in res.phases
        ],
    )
    s.lines += [
        "",
        f"Disk full: {res.raw.acked:,} acknowledged, {res.raw.stored_acked:,} stored, "
        f"{len(res.raw.lost)} lost; accepting again {_f(res.recovered_after_s or float('nan'))} s "
        "after space came back.",
        "",
    ]
    s.problems += [f"disk full: {p}" for p in res.problems]
    inj = disk.io_errors_injected(work / "eio-injected", first=2000, count=200, deliveries=6000)
    s.lines.append(
        f"I/O errors reported by the kernel (strace: the log's fdatasync calls 2,000-2,199 and "
        f"the sealing process's 3rd-8th fsync fail with EIO): answers {dict(inj.statuses)}; "
        f"{inj.failed_batches} failed batches, all 503; accepting again "
        f"{inj.accepting_again_after} delivery after the window, no restart; "
        f"{len(inj.left_in_log)} log segments still unsealed at the stop (sealed by the next "
        "start); "
        f"{inj.raw.acked:,} acknowledged, {inj.raw.stored_acked:,} stored, "
        f"**{len(inj.raw.lost)} lost**, {len(inj.raw.duplicated)} stored twice."
    )
    s.problems += [f"I/O errors (injected): {p}" for p in inj.problems]
    lies = disk.loop_device_drops_acknowledged_writes(work / "device")
    s.lines += [
        "",
        "A failing disk (ext4 on a loop device over a full tmpfs). The rig's own check on this "
        "machine: a write of 8 KiB that reaches past the full tmpfs "
        + (
            "**is acknowledged by the loop device (write and fsync succeed) and its second "
            "4 KiB read back as zeros**: this device drops writes it acknowledged, so a "
            "delivery lost below is lost by the device after our fdatasync succeeded; no "
            "program above the block layer can keep it. Reported, not counted as a finding."
            if lies
            else "is refused by the loop device: it is honest here, so any loss below is ours."
        ),
        "",
    ]
    for mode in ("continue", "remount-ro"):
        eio = disk.io_errors(work / f"eio-{mode}", on_errors=mode)
        first = next((i for i, (_, st) in enumerate(eio.timeline) if st != 200), None)
        after = [a for a, st in eio.timeline[first:] if st == 200] if first is not None else []

        def when(attempt: str, after: list[str] = after) -> str:
            return "after the first failure" if attempt in after else "before it"

        s.lines.append(
            f"- errors={mode}: answers {dict(eio.statuses)}; "
            f"{eio.acked_before_failure:,} acknowledged before the first failed write, "
            f"{len(after)} after it; after the reboot {eio.raw.stored_acked:,} of "
            f"{eio.raw.acked:,} acknowledged are there, {len(eio.raw.lost)} lost "
            f"({', '.join(when(a) for a in eio.raw.lost) or 'none'})."
        )
        problems = eio.problems
        if lies:  # losses on a device that drops acknowledged writes are the device's
            problems = [p for p in problems if "acknowledged attempts lost" not in p]
        s.problems += [f"I/O errors (errors={mode}): {p}" for p in problems]
    return s


def run_abuse(work: Path, quick: bool) -> Section:
    s = Section(
        "Abuse: slow and idle connections, oversize headers and bodies, bad-signature floods",
        "The service runs with RLIMIT_NOFILE 1024 and its default limits. Each kind on its "
        "own, then all at once, each for at most 32 s, while one good delivery after another "
        "is sent (each until acknowledged): 1,100 idle connections; 100 connections sending "
        "a header a byte a second; 30 bodies at 10 bytes a second; 4 unsigned 64 MB headers "
        "sent as fast as the service reads; 8 clients sending 1 MB bodies with a bad "
        "signature back to back; 10 requests declaring 100 MB, a 2.5 MB chunked body, a "
        "signed delivery with an 8 MB header value.",
        "Every abusive connection answered or closed by the service within 30 s; no abusive "
        "request 2xx; RSS growth < 256 MB; open files never at the limit; /readyz answers "
        "(200 or 503; at most one probe in ten lost); SIGTERM with 20 slow clients stops "
        "within 10 s without a traceback; every good delivery acknowledged and stored.",
    )
    groups = [abuse.ALL] if quick else [[k] for k in abuse.ALL] + [abuse.ALL]
    res = abuse.abuse(work / "abuse", groups)
    s.lines += _table(
        [
            "abuse",
            "abusive requests/conns",
            "open after 30 s",
            "what they got",
            "good answers",
            "good p50 ms",
            "good p99 ms",
            "RSS peak MB (+growth)",
            "open files peak",
            "connections peak",
            "/readyz",
        ],
        [
            [
                k.kind if len(k.kind) < 60 else "all of the above at once",
                k.opened,
                k.open_after_s,
                ", ".join(f"{a} {n}" for a, n in k.answers.most_common(6)),
                dict(k.good),
                _f(k.good_p50_ms),
                _f(k.good_p99_ms),
                f"{k.rss_peak_mb:.0f} (+{k.rss_growth_mb:.0f})",
                k.fds_peak,
                k.connections_peak,
                dict(k.readyz),
            ]
            for k in res.kinds
        ],
    )
    s.lines += [
        "",
        f"Baseline RSS {res.baseline_rss_mb:.0f} MB, {res.baseline_fds} open files; SIGTERM "
        f"with 20 slow clients: stopped in {res.stop_s:.1f} s; good deliveries: "
        f"{res.raw.acked:,} acknowledged, {res.raw.stored_acked:,} stored, "
        f"{len(res.raw.lost)} lost.",
    ]
    s.problems += res.problems
    return s


def run_fuzz(work: Path, quick: bool) -> Section:
    s = Section(
        "Fuzzing with hypothesis (the endpoint and the pipeline)",
        "Endpoint: hand-built HTTP/1.1 requests on raw sockets: bodies (JSON of every shape, "
        "bytes, unicode, empty, the body limit ±2), signatures (right, case of the header "
        "name, wrong secret, missing, malformed, for another body, two headers), odd "
        "X-Violet-* values (empty, not UTF-8), random extra headers, control characters, "
        "17-40 KB headers, chunked or not, wrong methods and paths. Pipeline: batches of 1-25 "
        "documented payloads (tests/fixtures/violet) with fresh ids, mutated: values replaced "
        "by any JSON (2^63, 10^23, 1e400, floats, numeric strings, unicode), keys deleted, "
        "odd timestamps (0001-01-01, 9999-12-31, T24:00:00Z, month 13, Arabic digits, …), "
        "wrapped in lists or objects, children duplicated, nesting up to 300 deep, 100 KB "
        "strings, duplicate keys, truncated, not UTF-8, top-level arrays, other topics, no "
        "topic, new names of a family; each batch sealed as a raw file and loaded on top of "
        "a built warehouse of good simulated traffic.",
        "Endpoint: no 2xx without the right signature; a well-formed signed delivery gets 200 "
        "(or 503 with Retry-After); no 5xx but that 503; afterwards every 2xx in raw exactly "
        "once, byte for byte, nothing else. Pipeline: every step and every blocking check "
        "succeeds; every odd delivery is quarantined with a reason or modeled, and a modeled "
        "order's bags are all in core (nothing vanishes); no current version dated more than "
        "a day ahead; every good core row unchanged.",
    )
    e = fuzz.fuzz_endpoint(work / "fuzz-endpoint", 500 if quick else 10_000, derandomize=False)
    s.lines += [
        f"Endpoint: **{e.examples:,} requests** in {e.seconds:.0f} s; answers "
        f"{dict(e.statuses.most_common())}; {e.raw.acked:,} acknowledged, "
        f"{e.raw.stored_acked:,} stored, {len(e.raw.lost)} lost, "
        f"{len(e.raw.unverified)} unverified stored.",
        "",
    ]
    s.problems += [f"endpoint: {p}" for p in e.problems]
    good = fuzz.good_world(work / "fuzz-good")
    p = fuzz.fuzz_pipeline(work / "fuzz-pipeline", good, 12 if quick else 100, derandomize=False)
    s.lines.append(
        f"Pipeline: **{p.examples} batches, {p.deliveries:,} odd deliveries** in "
        f"{p.seconds:.0f} s; "
        f"{p.modeled:,} modeled, quarantined by reason: {dict(p.reasons.most_common())}."
    )
    s.problems += [f"pipeline: {x}" for x in p.problems]
    return s


def run_soak(work: Path, quick: bool) -> Section:
    minutes = 2 if quick else 10
    s = Section(
        f"Soak ({minutes} minutes)",
        "Signed deliveries at 200/s from 16 keep-alive clients, the service with its default "
        "limits and a 30 s seal interval; RSS, open files, connections and the log backlog "
        "(`violet_ingest_log_backlog_records`) sampled every 5 s (each minute's maximum "
        "below), latency of every request.",
        "Flat: RSS grows < 50 MB from minute 2 to the last, open files within 16, backlog < "
        "2.5 seal intervals of traffic, median p99 of the last three minutes < 3x that of "
        "minutes 2-4 + 20 ms, no non-2xx; every 2xx in raw exactly once.",
    )
    res = soak.soak(work / "soak", minutes=minutes)
    s.lines += _table(
        [
            "minute",
            "acknowledged",
            "p50 ms",
            "p99 ms",
            "RSS MB",
            "open files",
            "connections",
            "backlog records",
            "non-2xx",
        ],
        [
            [
                m.minute,
                m.acked,
                _f(m.p50_ms),
                _f(m.p99_ms),
                f"{m.rss_mb:.0f}",
                m.open_files,
                m.connections,
                f"{m.backlog_records:.0f}",
                m.non_2xx,
            ]
            for m in res.minutes
        ],
    )
    s.lines += [
        "",
        f"{res.raw.acked:,} acknowledged, {res.raw.stored_acked:,} stored, "
        f"{len(res.raw.lost)} lost.",
    ]
    s.problems += res.problems
    return s


PARTS: dict[str, Callable[[Path, bool], Section]] = {
    "crash": run_crash,
    "pipeline": run_pipeline,
    "disk": run_disk,
    "abuse": run_abuse,
    "fuzz": run_fuzz,
    "soak": run_soak,
}


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", ":!bench/RELIABILITY.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def write_report(out: Path, sections: list[Section], quick: bool, seconds: float) -> None:
    lines = [
        "# Reliability: the chaos suite's figures",
        "",
        "Written by `make chaos` (`python -m bench.chaos`"
        + (" --quick" if quick else "")
        + "); run it again to "
        "regenerate this file. The fast cases of the same faults run in CI (`tests/chaos/`, "
        "part of `make test`). Real processes on 127.0.0.1 only; every loop bounded in count "
        "and time.",
        "",
        f"- when: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {seconds / 60:.0f} min",
        f"- machine: {machine()}",
        f"- code: {_commit()}",
        "",
        "| fault | outcome |",
        "|---|---|",
        *[f"| {sec.title} | {sec.outcome} |" for sec in sections],
        "",
    ]
    for sec in sections:
        lines += [
            f"## {sec.title}",
            "",
            f"**Injected.** {sec.injected}",
            "",
            f"**Checked.** {sec.checked}",
            "",
        ]
        lines += sec.lines
        lines += ["", f"**Outcome: {sec.outcome}** ({sec.seconds:.0f} s)."]
        if sec.problems:
            lines += ["", "Findings:", ""]
            lines += [f"- {p[:600]}" for p in sec.problems[:30]]
            if len(sec.problems) > 30:
                lines.append(f"- … and {len(sec.problems) - 30} more")
        lines.append("")
    out.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each part small: try the command")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RELIABILITY.md")
    parser.add_argument(
        "--only", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS)
    )
    args = parser.parse_args()
    started = time.monotonic()
    sections = []
    with tempfile.TemporaryDirectory(prefix="violet-chaos-") as tmp:
        for name in args.only.split(","):
            t0 = time.monotonic()
            print(f"chaos: {name} ...", flush=True)
            try:
                sec = PARTS[name](Path(tmp) / name, args.quick)
            except Exception as exc:  # noqa: BLE001 - the run broke: in the report, go on
                sec = Section(name, "", "", problems=[f"the run failed: {exc!r}"])
                traceback.print_exc()
            sec.seconds = time.monotonic() - t0
            print(f"chaos: {name}: {sec.outcome} in {sec.seconds:.0f} s", flush=True)
            for p in sec.problems[:10]:
                print(f"  - {p[:300]}", flush=True)
            sections.append(sec)
            write_report(args.out, sections, args.quick, time.monotonic() - started)
    print(f"chaos: written {args.out}")
    return 0 if all(not s.problems for s in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
