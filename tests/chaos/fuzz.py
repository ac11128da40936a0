"""Fuzzing with hypothesis: the endpoint over raw sockets, and the pipeline with odd payloads.

Endpoint invariants (each request is one HTTP/1.1 request on its own connection, bytes built
by hand so that anything can be sent): nothing unverified is stored, nor anything over the
header or body limits; a well-formed request with the right signature is answered 2xx (or the
designed 503 with Retry-After) and every 2xx is stored, exactly once, byte for byte; no 5xx but
that 503; a malformed request is refused (4xx) or its connection closed.

Pipeline invariants (documented payloads from tests/fixtures/violet, mutated in shape, type,
size, nesting, unicode, timestamps and duplicate keys, loaded on top of a built warehouse of
good simulated traffic): every step succeeds and every blocking check passes; every odd
delivery is either quarantined with a reason or modeled, and when its parent is modeled each
of its bags is too (nothing vanishes); no version dated more than a day after its receipt is
current state; the good rows are exactly what they were.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.records import RawRecord
from ingest.sealer import seal
from ingest.signature import sign
from pipelines.core import build as core_build
from pipelines.core import checks as core_checks
from pipelines.finance import checks as finance_checks
from pipelines.finance.build import build_finance
from pipelines.ops import build as ops_build
from pipelines.resources import Warehouse
from pipelines.staging import build as staging_build
from pipelines.staging import checks as staging_checks
from simulator.options import Options
from tests.chaos.service import Service
from tests.chaos.traffic import ATTEMPT, Ledger, RawCheck, build_warehouse, check_raw
from tests.pipelines.conftest import end_of, make_world
from tests.support import SECRET

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "violet"
TEMPLATES: dict[str, Any] = {
    p.stem: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))
}
MAX_BODY = 1024 * 1024
ALLOWED = {200, 307, 308, 400, 401, 404, 405, 408, 411, 413, 414, 415, 422, 431, 503}

# ---- the endpoint ----------------------------------------------------------------------------

_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=20,
)
_VALUE = st.binary(max_size=120).map(lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F))


class HttpRequest:
    """One request as bytes will carry it. A plain class: hypothesis prints dataclasses field
    by field (a 1 MB body in every report), this one prints a summary."""

    def __init__(
        self,
        method: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        chunked: bool,
        signature: str,  # valid / wrong_secret / missing / malformed / other_body / duplicate
        malformed: bool,  # bytes HTTP forbids (control characters in a header value)
        oversize: bool,  # a header or body over the service's limits
    ) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.chunked, self.signature, self.malformed, self.oversize = (
            chunked,
            signature,
            malformed,
            oversize,
        )

    def __repr__(self) -> str:
        return (
            f"HttpRequest({self.method!r} {self.path!r}, signature={self.signature}, "
            f"{len(self.headers)} headers, body {self.body[:80]!r} ({len(self.body)} bytes), "
            f"chunked={self.chunked}, malformed={self.malformed}, oversize={self.oversize})"
        )

    @property
    def must_store(self) -> bool:
        return (
            self.signature == "valid"
            and self.method == b"POST"
            and self.path == b"/webhooks/violet"
            and not self.malformed
            and not self.oversize
        )

    @property
    def genuine(self) -> bool:
        return self.signature in ("valid", "duplicate")


@st.composite
def requests(draw: st.DrawFn) -> HttpRequest:
    kind = draw(st.sampled_from(["json", "bytes", "text", "empty", "fixture", "near_limit"]))
    if kind == "json":
        body = json.dumps(draw(_json_values), ensure_ascii=draw(st.booleans())).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=2048))
    elif kind == "text":
        body = draw(st.text(max_size=500)).encode("utf-8", "surrogatepass")
    elif kind == "fixture":
        body = json.dumps(TEMPLATES[draw(st.sampled_from(sorted(TEMPLATES)))]).encode()
    elif kind == "near_limit":
        body = b"z" * (MAX_BODY + draw(st.integers(-2, 2)))
    else:
        body = b""
    signature = draw(
        st.sampled_from(
            ["valid"] * 4 + ["wrong_secret", "missing", "malformed", "other_body", "duplicate"]
        )
    )
    headers: list[tuple[bytes, bytes]] = [(b"Host", b"127.0.0.1")]
    good_sig = sign(SECRET, body).encode()
    if signature == "valid":
        headers.append(
            (
                draw(st.sampled_from([b"X-Violet-Hmac", b"x-violet-hmac", b"X-VIOLET-HMAC"])),
                good_sig,
            )
        )
    elif signature == "wrong_secret":
        headers.append((b"X-Violet-Hmac", sign("wrong-secret", body).encode()))
    elif signature == "malformed":
        headers.append((b"X-Violet-Hmac", draw(_VALUE)))
    elif signature == "other_body":
        headers.append((b"X-Violet-Hmac", sign(SECRET, body + b" ").encode()))
    elif signature == "duplicate":
        headers += [(b"X-Violet-Hmac", sign("wrong", body).encode()), (b"X-Violet-Hmac", good_sig)]
    for name in (
        b"X-Violet-Topic",
        b"X-Violet-Event-Id",
        b"X-Violet-Event-Id-Source",
        b"X-Violet-Order-Id",
    ):
        if draw(st.booleans()):
            headers.append(
                (
                    name,
                    draw(st.sampled_from([b"ORDER_UPDATED", b"", b"\xff\xfe", b"1e400"]) | _VALUE),
                )
            )
    for _ in range(draw(st.integers(0, 4))):
        name = draw(_TOKEN).encode()
        if name.lower() != ATTEMPT.lower().encode():
            headers.append((name, draw(_VALUE)))
    malformed = False
    if draw(st.integers(0, 9)) == 0:
        headers.append((b"X-Bad", b"a\x01b"))
        malformed = True
    oversize = len(body) > MAX_BODY
    if draw(st.integers(0, 14)) == 0:
        headers.append((b"X-Big", b"b" * draw(st.integers(17 * 1024, 40 * 1024))))
        oversize = True
    method = draw(st.sampled_from([b"POST"] * 8 + [b"GET", b"PUT"]))
    path = draw(st.sampled_from([b"/webhooks/violet"] * 8 + [b"/webhooks/violet/", b"/nope"]))
    return HttpRequest(
        method, path, headers, body, draw(st.booleans()), signature, malformed, oversize
    )


def _raw_request(req: HttpRequest, aid: str) -> bytes:
    head = req.method + b" " + req.path + b" HTTP/1.1\r\n"
    for name, value in [*req.headers, (ATTEMPT.encode(), aid.encode()), (b"Connection", b"close")]:
        head += name + b": " + value + b"\r\n"
    if req.chunked:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        body = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (req.body[i : i + 65536] for i in range(0, len(req.body), 65536))
        )
        return head + body + b"0\r\n\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(req.body) + req.body


def _exchange(port: int, data: bytes) -> tuple[int | None, dict[bytes, bytes]]:
    """Send one request, read the answer until the service closes; (status, headers)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        # answered (e.g. 413) and closed before the whole body was sent: read the answer
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(data)
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    if not answer.startswith(b"HTTP/1.1 "):
        return None, {}
    head = answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return int(head[0][9:12]), headers


@dataclass
class EndpointFuzz:
    examples: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    raw: RawCheck = field(default_factory=RawCheck)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fuzz_endpoint(workdir: Path, max_examples: int, derandomize: bool = True) -> EndpointFuzz:
    started = time.monotonic()
    out = EndpointFuzz()
    ledger = Ledger()
    service = Service(workdir / "data")

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    )
    @given(req=requests())
    def endpoint(req: HttpRequest) -> None:
        out.examples += 1
        aid = ledger.attempt(req.body, req.genuine)
        status, headers = _exchange(service.port, _raw_request(req, aid))
        out.statuses[str(status)] += 1
        if status is not None and 200 <= status < 300:
            ledger.acked.add(aid)
        assert not (status is not None and 200 <= status < 300 and not req.genuine), (
            f"{status} for a request whose signature is {req.signature}"
        )
        if status is None:
            assert req.malformed or req.oversize, "connection closed without an answer"
            return
        assert status in ALLOWED, f"status {status}"
        if status == 503:
            assert b"retry-after" in headers, "503 without Retry-After"
        if req.must_store:
            assert status in (200, 503), f"a good delivery got {status}"
        if req.oversize:
            assert not 200 <= status < 300, f"{status} for a header or body over the limits"

    try:
        service.launch()
        try:
            endpoint()
        except AssertionError as exc:
            out.problems.append(f"endpoint: {exc}")
        code, _ = service.stop()
        if code not in (0, -15):
            out.problems.append(f"graceful stop exited {code}")
    finally:
        service.ensure_dead()
    out.raw = check_raw(workdir / "data", ledger)
    out.problems += out.raw.problems()
    if "Traceback" in service.all_logs():
        out.problems.append("the service logged a traceback")
    out.seconds = time.monotonic() - started
    return out


# ---- the pipeline ----------------------------------------------------------------------------

# Big numbers JSON can say and Python's json cannot produce from a float: spliced in as text.
_LITERALS = [
    "1e400",
    "-1e400",
    "1E+23",
    "9223372036854775808",
    "-9223372036854775809",
    "1.0",
    "0.5",
    "-0",
]
_TIMESTAMPS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-01T24:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-01",
    "2026-11-01T00:00:00",
    "2026-11-01T00:00:00+14:00",
    "2026-11-01T00:00:00.123456789Z",
    "1970-01-01T00:00:00Z",
    "2100-01-01T00:00:00Z",
    "now",
    "",
    "2026-11-01T00:00:00+0000 ",
    "\u0661\u0662\u0663\u0664-\u0661\u0661-\u0660\u0661T00:00:00Z",  # Arabic digits
    "2026-11-01T00:00:00-00:00",
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63), 10**20, 10**23]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(_TIMESTAMPS),
    st.sampled_from([f"@@{x}@@" for x in _LITERALS]),
    st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
)
_json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


_ids = iter(range(5_000_000_000_000, 6_000_000_000_000))


def _fresh_ids(doc: Any) -> Any:
    """The same document with every `id` and `*_id` integer replaced by a new one (the good
    world never has them), so that only what the mutations do can touch good rows."""
    if isinstance(doc, dict):
        return {
            k: next(_ids)
            if (k == "id" or k.endswith("_id")) and isinstance(v, int)
            else _fresh_ids(v)
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_fresh_ids(v) for v in doc]
    return doc


class OddDelivery:
    """One odd delivery (a plain class, printed in short: see HttpRequest)."""

    def __init__(self, topic: str | None, body: bytes, doc: Any | None) -> None:
        self.topic = topic
        self.body = body
        self.doc = doc  # what the body says, when it is unambiguous JSON (no duplicate keys)

    def __repr__(self) -> str:
        more = "..." if len(self.body) > 300 else ""
        return f"OddDelivery({self.topic!r}, {self.body[:300]!r}{more})"


@st.composite
def odd_deliveries(draw: st.DrawFn) -> OddDelivery:
    template: str = draw(st.sampled_from(sorted(TEMPLATES)))
    topic: str | None = template
    doc = _fresh_ids(copy.deepcopy(TEMPLATES[template]))
    for _ in range(draw(st.integers(0, 4))):
        paths = list(_paths(doc))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        op = draw(
            st.sampled_from(
                ["replace"] * 4 + ["delete", "timestamp", "wrap", "duplicate_child", "deep", "huge"]
            )
        )
        if op == "delete":
            del parent[path[-1]]
        elif op == "timestamp":
            parent[path[-1]] = draw(st.sampled_from(_TIMESTAMPS))
        elif op == "wrap":
            parent[path[-1]] = (
                [parent[path[-1]]] if draw(st.booleans()) else {"v": parent[path[-1]]}
            )
        elif op == "duplicate_child" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        elif op == "deep":
            value: Any = 1
            for _ in range(draw(st.integers(20, 300))):
                value = [value]
            parent[path[-1]] = value
        elif op == "huge":
            parent[path[-1]] = "ü" * draw(st.integers(10_000, 100_000))
        else:
            parent[path[-1]] = draw(_json_values)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    for literal in _LITERALS:
        text = text.replace(f'"@@{literal}@@"', literal)
    spliced = "@@" not in text and text != json.dumps(doc)
    ambiguous = spliced
    if isinstance(doc, dict) and doc and draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(sorted(doc)))
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(draw(_json_values))}" + "}"
        ambiguous = True
    shape = draw(st.sampled_from(["as is"] * 8 + ["truncated", "not utf-8", "array"]))
    body = text.encode()
    if shape == "truncated":
        body = body[: max(1, len(body) // 2)]
        ambiguous = True
    elif shape == "not utf-8":
        body = body.replace(b'"', b'"\xff', 1)
        ambiguous = True
    elif shape == "array":
        body = b"[" + body + b"]"
        ambiguous = True
    topic_choice = draw(st.sampled_from(["same"] * 6 + ["other", "none", "family"]))
    if topic_choice == "other":
        topic = draw(st.sampled_from(sorted(TEMPLATES)))
    elif topic_choice == "none":
        topic = None
    elif topic_choice == "family":
        assert topic is not None
        topic = topic.rsplit("_", 1)[0] + "_" + draw(st.sampled_from(["ON_HOLD", "ÜBER", "X"]))
    try:
        parsed = None if ambiguous else json.loads(body)
    except ValueError:
        parsed = None
    return OddDelivery(topic, body, parsed)


def _records(batch: list[OddDelivery], first: int) -> list[RawRecord]:
    now_us = time.time_ns() // 1000
    out = []
    for i, d in enumerate(batch):
        headers = {"x-violet-topic": d.topic} if d.topic is not None else {}
        out.append(
            RawRecord(
                delivery_id=f"fz-{first + i}",
                source_event_id=None,
                topic=d.topic,
                webhook_id="wh-fuzz",
                order_id=None,
                bag_id=None,
                headers=json.dumps(headers),
                body=d.body,
                secret_id="primary",
                received_at_us=now_us + i,
                sequence=first + i,
            )
        )
    return out


@dataclass
class GoodWorld:
    raw_dir: Path
    database: Path


def good_world(root: Path, options: Options | None = None) -> GoodWorld:
    options = options or Options(seed=31, orders=60, days=1)
    world = make_world(root / "world", options, segment_records=2000)
    database = root / "good.duckdb"
    build_warehouse(world.raw_dir, database, end_of(options))
    return GoodWorld(world.raw_dir, database)


@dataclass
class PipelineFuzz:
    examples: int = 0
    deliveries: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    modeled: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


_ENTITY_TABLE = {
    "order": "orders",
    "payment_transaction": "payment_transactions",
    "transfer": "transfers",
    "payout_account": "payout_accounts",
    "merchant": "merchants",
    "offer": "offers",
    "collection": "collections",
    "sync": "syncs",
}
_CORE = (
    "orders",
    "bags",
    "bag_skus",
    "payment_transactions",
    "transfers",
    "merchants",
    "offers",
    "collections",
    "syncs",
    "payout_accounts",
)


def _numbers(doc: Any) -> set[int]:
    """Every integer a document mentions (numbers and numeric strings): the ids it may touch."""
    out: set[int] = set()
    if isinstance(doc, dict):
        for v in doc.values():
            out |= _numbers(v)
    elif isinstance(doc, list):
        for v in doc:
            out |= _numbers(v)
    elif isinstance(doc, bool):
        pass
    elif isinstance(doc, int):
        out.add(doc)
    elif isinstance(doc, str) and doc.strip().lstrip("-").isdigit() and len(doc) < 30:
        out.add(int(doc))
    return out


def check_batch(
    good: GoodWorld, batch: list[OddDelivery], workdir: Path
) -> tuple[list[str], Counter[str], int]:
    """Load `batch` on top of the good warehouse; return (problems, reasons, modeled)."""
    problems: list[str] = []
    tag = uuid.uuid4().hex[:8]
    raw_dir = workdir / f"raw-{tag}"
    for path in good.raw_dir.rglob("*.parquet"):
        target = raw_dir / path.relative_to(good.raw_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    seal(_records(batch, 0), raw_dir, f"fuzz-{tag}", 1)
    database = workdir / f"wh-{tag}.duckdb"
    shutil.copyfile(good.database, database)
    reasons: Counter[str] = Counter()
    modeled = 0
    try:
        with duckdb.connect(str(database)) as con:
            try:
                staging_build.load_all(con, raw_dir)
                core_build.build_core(con)
                ops_build.build_ops(con)
                build_finance(con)
            except duckdb.Error as exc:
                return [f"a build step failed: {str(exc)[:300]}"], reasons, 0
            problems += _blocking_checks(con, workdir)
            rows = con.execute(
                "select delivery_id, entity, entity_id, quarantine_reason from staging.deliveries "
                "where delivery_id like 'fz-%'"
            ).fetchall()
            if len(rows) != len(batch):
                problems.append(f"{len(batch)} odd deliveries sent, {len(rows)} in staging")
            history = {
                t: {
                    i
                    for (i,) in con.execute(f"select distinct id from core.{t}_history").fetchall()
                }
                for t in _CORE
            }
            for delivery_id, entity, entity_id, reason in rows:
                d = batch[int(delivery_id[3:])]
                if reason is not None:
                    reasons[reason] += 1
                    continue
                modeled += 1
                table = _ENTITY_TABLE.get(entity)
                if table is None or entity_id not in history[table]:
                    problems.append(
                        f"{delivery_id} ({d.topic}) neither quarantined nor in core: "
                        f"{d.body[:200]!r}"
                    )
                    continue
                if table == "orders" and isinstance(d.doc, dict):
                    for i, bag in enumerate(d.doc.get("bags") or []):
                        bag_id = bag.get("id") if isinstance(bag, dict) else None
                        if not (
                            isinstance(bag_id, int)
                            and not isinstance(bag_id, bool)
                            and bag_id in history["bags"]
                        ):
                            problems.append(
                                f"{delivery_id}: bags[{i}] (id {bag_id!r}) vanished: the "
                                "order is modeled, the bag is not, nothing quarantined"
                            )
            for t in _CORE:
                future = (
                    con.execute(
                        f"select count(*) from core.{t} "
                        "where date_last_modified > now() + interval 1 day"
                    ).fetchone()
                    if t != "bag_skus"
                    else (0,)
                )
                if future and future[0]:
                    problems.append(
                        f"core.{t}: {future[0]} current rows dated more than a day ahead"
                    )
            touched: set[int] = set()
            for d in batch:
                touched |= _numbers(d.doc if d.doc is not None else _loose(d.body))
            con.execute("attach ? as good (read_only)", [str(good.database)])
            con.execute("create temp table touched (id bigint)")
            con.executemany(
                "insert into touched values (?)", [(i,) for i in touched if -(2**63) <= i < 2**63]
            )
            # the good rows: every id of the good warehouse no odd delivery mentions
            for t in _CORE:
                keep = (
                    f"id not in (select id from touched) and id in (select id from good.core.{t})"
                )
                n = con.execute(
                    f"select count(*) from ((select * from good.core.{t} where {keep} "
                    f"except all select * from core.{t} where {keep}) union all "
                    f"(select * from core.{t} where {keep} "
                    f"except all select * from good.core.{t} where {keep}))"
                ).fetchone()
                if n and n[0]:
                    problems.append(f"core.{t}: {n[0]} good rows changed")
    finally:
        shutil.rmtree(raw_dir, ignore_errors=True)
        database.unlink(missing_ok=True)
        Path(f"{database}.wal").unlink(missing_ok=True)
    return problems, reasons, modeled


def _loose(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return None


def _blocking_checks(con: duckdb.DuckDBPyConnection, workdir: Path) -> list[str]:
    warehouse = Warehouse(data_dir=str(workdir))
    failed = []
    for spec, evaluate in [
        *core_checks.CORE_CHECKS,
        (staging_checks.EVENTS_UNIQUE, staging_checks._events_unique),
    ]:
        if spec.blocking:
            result = evaluate(con, warehouse)
            if not result.passed:
                failed.append(
                    f"blocking check {spec.asset_key.to_user_string()}:{spec.name} "
                    f"failed {result.metadata}"
                )
    for invariant in finance_checks.INVARIANTS:
        if invariant.blocking and any((counts := invariant.counts(con)).values()):
            failed.append(f"blocking check {invariant.name} failed {counts}")
    return failed


def fuzz_pipeline(
    workdir: Path, good: GoodWorld, max_examples: int, derandomize: bool = True
) -> PipelineFuzz:
    started = time.monotonic()
    out = PipelineFuzz()

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    @given(batch=st.lists(odd_deliveries(), min_size=1, max_size=25))
    def pipeline(batch: list[OddDelivery]) -> None:
        problems, reasons, modeled = check_batch(good, batch, workdir)
        out.examples += 1
        out.deliveries += len(batch)
        out.reasons.update(reasons)
        out.modeled += modeled
        if problems:
            # Name the delivery that fails on its own (hypothesis does not shrink here: a
            # build per try is too slow for that).
            for d in batch:
                alone, _, _ = check_batch(good, [d], workdir)
                if alone:
                    problems.append(f"fails alone: topic {d.topic}, body {d.body[:600]!r}")
                    break
        assert problems == [], problems

    try:
        pipeline()
    except AssertionError as exc:
        out.problems.append(str(exc)[:3000])
    out.seconds = time.monotonic() - started
    return out
