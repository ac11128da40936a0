"""Generating a whole world: merchant groups, then order chunks, then one time-ordered stream.

Groups and chunks are independent (own random streams, own id ranges), so they run in worker
processes and the result never depends on the number of workers; chunks start once every
merchant is known. Each one's deliveries are sorted and spilled to a temporary file of frames;
iterating the world merges the files by delivery time, so memory stays bounded by the chunk size
however many orders the world has.

`form` says what is kept: `send` keeps whole deliveries (bad signatures included), `write` keeps
the raw-record fields of stored deliveries (headers already run through
`ingest.records.header_fields`, as the service would), `truth` keeps nothing but counts and the
final entity rows. For those rows, chunks learn each payout account's merchant from the merchant
groups' payout-account rows (what payloads say, as a warehouse would join them).
"""

from __future__ import annotations

import heapq
import json
import multiprocessing
import os
import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ingest.records import header_fields
from simulator import anomalies, catalog, events, ids, merchants, orders, rows
from simulator.catalog import Catalog, Merchant
from simulator.deliveries import Delivery, StreamCounts, deliver
from simulator.options import Options
from simulator.world import WorldPlan

SEND, WRITE, TRUTH = "send", "write", "truth"
_FRAME = 2_000  # items per pickle frame in a spill file

# One stored delivery as the raw log would hold it, minus what sealing adds:
# (at_us, rank, seq, delivery_id, source_event_id, topic, webhook_id, order_id, bag_id,
#  headers_json, body)
RecordItem = tuple[int, int, int, str | None, str | None, str | None, str | None, str | None,
                   str | None, str, bytes]  # fmt: skip

TableRows = dict[str, list[rows.Row]]


class Frame(NamedTuple):
    """One pickled run of a spill file: its first and last delivery time and file offset."""

    first_us: int
    last_us: int
    offset: int


class Spill(NamedTuple):
    """A rank's deliveries, sorted, in a temporary file of frames."""

    path: str
    frames: list[Frame]
    received_us: array[int]  # every item's at_us, in order (to plan segments without reading)


class ChunkResult(NamedTuple):
    rank: int
    counts: StreamCounts
    spill: Spill | None
    tables: TableRows
    exceptions: list[anomalies.ExpectedException]


_LOWER_NAMES: dict[str, bytes] = {}


def _lower(name: str) -> bytes:
    raw = _LOWER_NAMES.get(name)
    if raw is None:
        raw = _LOWER_NAMES[name] = name.lower().encode()
    return raw


def _to_record(d: Delivery) -> RecordItem:
    # As an HTTP/1.1 server hands headers to the app: names lower-cased, bytes.
    raw = [(_lower(name), value.encode()) for name, value in d.headers]
    f = header_fields(raw)
    return (
        d.at_us,
        d.rank,
        d.seq,
        f.delivery_id,
        f.source_event_id,
        f.topic,
        f.webhook_id,
        f.order_id,
        f.bag_id,
        f.headers_json,
        d.body,
    )


def _spill(items: list[tuple[Any, ...]], path: Path) -> Spill:
    """Write `items` (sorted, each starting with at_us) as frames; return their index."""
    frames: list[Frame] = []
    with open(path, "wb") as fh:
        for start in range(0, len(items), _FRAME):
            frame = items[start : start + _FRAME]
            frames.append(Frame(frame[0][0], frame[-1][0], fh.tell()))
            pickle.dump(frame, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Spill(str(path), frames, array("q", [item[0] for item in items]))


def _read_spill(spill: Spill, lo_us: int | None = None, hi_us: int | None = None) -> Iterator[Any]:
    """The spill's items with `lo_us <= at_us < hi_us` (None: unbounded), in order."""
    with open(spill.path, "rb") as fh:
        for frame in spill.frames:
            if (hi_us is not None and frame.first_us >= hi_us) or (
                lo_us is not None and frame.last_us < lo_us
            ):
                continue
            fh.seek(frame.offset)
            items = pickle.load(fh)  # noqa: S301 (our own temporary file)
            if (lo_us is None or frame.first_us >= lo_us) and (
                hi_us is None or frame.last_us < hi_us
            ):
                yield from items
            else:
                for item in items:
                    if (lo_us is None or item[0] >= lo_us) and (hi_us is None or item[0] < hi_us):
                        yield item


def read_range(spills: list[Spill], lo_us: int | None, hi_us: int | None) -> Iterator[Any]:
    """Items of every spill received in `[lo_us, hi_us)`, merged in delivery order."""
    return heapq.merge(*(_read_spill(sp, lo_us, hi_us) for sp in spills))


def _finish(
    rank: int,
    evs: list[events.Event],
    finals: dict[str, list[events.Final]],
    expected: list[anomalies.ExpectedException],
    ctx: _Context,
) -> ChunkResult:
    rng = ids.rng_for(ctx.plan.seed, ids.STREAM_DELIVERY, rank)  # own stream per rank
    secret = ctx.secret if ctx.form != TRUTH else None
    out, counts = deliver(evs, ctx.plan.options.stream, rng, secret, rank)
    spill: Spill | None = None
    tables: TableRows = {}
    if ctx.form == TRUTH:
        accounts = ctx.accounts() if finals.get(events.TRANSFERS) else None
        for entity, payloads in finals.items():
            rows.collect(entity, payloads, tables, accounts)
    else:
        path = Path(ctx.spill_dir) / f"rank-{rank:06d}.pkl"
        if ctx.form == WRITE:
            spill = _spill([_to_record(d) for d in out if d.stored], path)
        else:
            spill = _spill([tuple(d) for d in out], path)  # plain tuples pickle much faster
    return ChunkResult(rank, counts, spill, tables, expected)


@dataclass
class _Context:
    plan: WorldPlan
    secret: str | None
    form: str
    spill_dir: str
    merchants: Catalog | None = None  # loaded from the spill directory once known
    merchant_of_account: dict[int, int] | None = None  # truth: payout account -> merchant

    @property
    def catalog_path(self) -> Path:
        return Path(self.spill_dir) / "catalog.pkl"

    @property
    def accounts_path(self) -> Path:
        return Path(self.spill_dir) / "accounts.pkl"

    def catalog(self) -> Catalog:
        if self.merchants is None:
            with open(self.catalog_path, "rb") as fh:
                self.merchants = pickle.load(fh)  # noqa: S301 (written by this run)
        return self.merchants

    def accounts(self) -> dict[int, int]:
        if self.merchant_of_account is None:
            with open(self.accounts_path, "rb") as fh:
                self.merchant_of_account = pickle.load(fh)  # noqa: S301 (written by this run)
        return self.merchant_of_account


_CTX: _Context | None = None


def _init_worker(ctx: _Context) -> None:
    global _CTX  # one context per worker process, set once by the pool initializer
    _CTX = ctx


def _worker_context() -> _Context:
    assert _CTX is not None, "worker context not initialised"
    return _CTX


def _run_group(group: int) -> tuple[list[Merchant], ChunkResult]:
    return _simulate_group(_worker_context(), group)


def _run_chunk(chunk: int) -> ChunkResult:
    return _simulate_chunk(_worker_context(), chunk)


def _simulate_group(ctx: _Context, group: int) -> tuple[list[Merchant], ChunkResult]:
    built = merchants.build_group(ctx.plan, group)
    return built.merchants, _finish(group, built.events, built.finals, [], ctx)


def _simulate_chunk(ctx: _Context, chunk: int) -> ChunkResult:
    world = orders.simulate(ctx.plan, ctx.catalog(), chunk)
    truth = ctx.form == TRUTH
    finals: dict[str, list[events.Final]] = {
        events.ORDERS: [(t, json.loads(b)) for t, b in world.orders] if truth else [],
        events.PAYMENT_TRANSACTIONS: [(t, json.loads(b)) for t, b in world.payments]
        if truth
        else [],
        events.TRANSFERS: world.transfers if truth else [],
    }
    rank = catalog.n_groups(ctx.plan) + chunk
    return _finish(rank, world.events, finals, world.exceptions, ctx)


@dataclass
class World:
    """A generated world: its counts and expected exceptions, and (send/write) its stream."""

    options: Options
    plan: WorldPlan
    form: str
    counts: StreamCounts = field(default_factory=StreamCounts)
    exceptions: list[anomalies.ExpectedException] = field(default_factory=list)
    entity_counts: dict[str, int] = field(default_factory=dict)
    spills: list[Spill] = field(default_factory=list)
    # The generating processes, still up while the world is open (None when run inline).
    pool: Executor | None = None
    pool_size: int = 1

    def deliveries(self) -> Iterator[Delivery]:
        """Every delivery (bad signatures included), in delivery-time order (`send` form)."""
        if self.form != SEND:
            raise ValueError("deliveries() needs a world generated with form='send'")
        return map(Delivery._make, read_range(self.spills, None, None))

    def records(self) -> Iterator[RecordItem]:
        """Every stored delivery as raw-record fields, in delivery-time order (`write` form)."""
        if self.form != WRITE:
            raise ValueError("records() needs a world generated with form='write'")
        return read_range(self.spills, None, None)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def generate(
    options: Options,
    *,
    secret: str | None,
    form: str,
    workers: int | None = None,
    on_tables: Callable[[TableRows], None] | None = None,
    tmp_dir: Path | None = None,
) -> Iterator[World]:
    """Generate the world of `options`; the stream lives until the context exits.

    `on_tables` receives each chunk's final entity rows, in a fixed order (`truth` form).
    The stream is spilled to a temporary directory under `tmp_dir` (default: the system's),
    about 1.5 kB per delivery, removed on exit.
    """
    if form not in (SEND, WRITE, TRUTH):
        raise ValueError(f"unknown form {form!r}")
    plan = WorldPlan(options)
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".violet-sim-", dir=tmp_dir) as spill_dir:
        ctx = _Context(plan, secret, form, spill_dir)
        world = World(options, plan, form)

        def take(result: ChunkResult) -> None:
            world.counts.add(result.counts)
            world.exceptions.extend(result.exceptions)
            if result.spill is not None:
                world.spills.append(result.spill)
            for table, table_rows in result.tables.items():
                world.entity_counts[table] = world.entity_counts.get(table, 0) + len(table_rows)
            if on_tables is not None and result.tables:
                on_tables(result.tables)

        def run(
            map_groups: Callable[[range], Iterator[tuple[list[Merchant], ChunkResult]]],
            map_chunks: Callable[[range], Iterator[ChunkResult]],
        ) -> None:
            everyone: list[Merchant] = []
            accounts: dict[int, int] = {}
            for group_merchants, result in map_groups(range(catalog.n_groups(plan))):
                everyone.extend(group_merchants)
                for row in result.tables.get("payout_accounts", ()):
                    accounts[row[0]] = row[1]  # payout_account_id -> merchant_id
                take(result)
            ctx.merchants = catalog.assemble(plan, everyone)
            ctx.merchant_of_account = accounts
            with open(ctx.catalog_path, "wb") as fh:
                pickle.dump(ctx.merchants, fh, protocol=pickle.HIGHEST_PROTOCOL)
            with open(ctx.accounts_path, "wb") as fh:
                pickle.dump(accounts, fh, protocol=pickle.HIGHEST_PROTOCOL)
            for result in map_chunks(range(plan.n_chunks)):
                take(result)

        n_workers = min(workers or default_workers(), max(plan.n_chunks, catalog.n_groups(plan)))
        if n_workers <= 1:
            run(
                lambda groups: (_simulate_group(ctx, g) for g in groups),
                lambda chunks: (_simulate_chunk(ctx, c) for c in chunks),
            )
        else:
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                n_workers, mp_context=spawn, initializer=_init_worker, initargs=(ctx,)
            ) as pool:
                run(
                    lambda groups: pool.map(_run_group, groups),
                    lambda chunks: pool.map(_run_chunk, chunks),
                )
                world.pool, world.pool_size = pool, n_workers
                yield world
                return
        yield world


def deliveries(options: Options, secret: str, workers: int | None = 1) -> list[Delivery]:
    """The whole stream in memory (small worlds, tests)."""
    with generate(options, secret=secret, form=SEND, workers=workers) as world:
        return list(world.deliveries())
