"""`truth`: what a correct warehouse must conclude from the stream, as files a test can load.

`<out>/summary.json` describes the stream (counts of stored deliveries, logical events per topic,
bad deliveries per kind, duplicates, events under undocumented topics of a known family) and the
world (as_of, grace periods, rates, whether API fields are in payloads, entity counts);
`<out>/<table>.parquet` holds the current state of every entity (columns: `simulator.rows`);
`<out>/exceptions.parquet` the expected finance exceptions (`simulator.anomalies`), with
`difference_minor` (signed actual - expected, null where the rule gives none).

Current state = the version with the greatest `date_last_modified` among stored, parseable
deliveries (payment transactions: their own topics and their copies inside orders together).
A logical event is keyed `coalesce(X-Violet-Event-Id-Source, X-Violet-Event-Id,
'sha256:' + sha256(body))`; its topic is that of its first delivery.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from simulator import __version__, anomalies, clock, rows, stream
from simulator.deliveries import BAD_KINDS
from simulator.options import Options

SUMMARY_FORMAT = 1

_ARROW = {
    rows.INT: pa.int64(),
    rows.STR: pa.string(),
    rows.BOOL: pa.bool_(),
    rows.TS: pa.int64(),  # cast to timestamp after building
    rows.INT_LIST: pa.list_(pa.int64()),
}
_TIMESTAMP = pa.timestamp("us", tz="UTC")

EXCEPTION_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("amount_minor", pa.int64(), nullable=False),
        pa.field("difference_minor", pa.int64()),
        pa.field("order_id", pa.int64()),
        pa.field("bag_id", pa.int64()),
        pa.field("merchant_id", pa.int64()),
        pa.field("transfer_id", pa.int64()),
        pa.field("detail", pa.string(), nullable=False),
    ]
)


def schema(table: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field(name, _TIMESTAMP if kind == rows.TS else _ARROW[kind])
            for name, kind in rows.SCHEMAS[table]
        ]
    )


def to_table(table: str, table_rows: list[rows.Row]) -> pa.Table:
    """Rows of `table` (tuples in `rows.SCHEMAS` order) as an Arrow table."""
    spec = rows.SCHEMAS[table]
    columns = list(zip(*table_rows, strict=True)) if table_rows else [() for _ in spec]
    arrays = []
    for (_, kind), values in zip(spec, columns, strict=True):
        array = pa.array(values, _ARROW[kind])
        arrays.append(array.cast(_TIMESTAMP) if kind == rows.TS else array)
    return pa.Table.from_arrays(arrays, schema=schema(table))


def exceptions_table(expected: list[anomalies.ExpectedException]) -> pa.Table:
    columns = list(zip(*expected, strict=True)) if expected else [() for _ in EXCEPTION_SCHEMA]
    return pa.Table.from_arrays(
        [pa.array(values, f.type) for values, f in zip(columns, EXCEPTION_SCHEMA, strict=True)],
        schema=EXCEPTION_SCHEMA,
    )


def summary(world: stream.World) -> dict[str, Any]:
    options, counts = world.options, world.counts
    by_kind = dict.fromkeys(anomalies.KINDS, 0)
    for e in world.exceptions:
        by_kind[e.kind] += 1
    return {
        "format": SUMMARY_FORMAT,
        "simulator_version": __version__,
        **options.describe(),
        "as_of": clock.iso(options.as_of_s),
        "anomaly_window_end": clock.iso(world.plan.anomaly_end_s),
        "grace": options.grace.as_dict(),
        "deliveries_total": counts.deliveries,
        "genuine_stored_deliveries": counts.stored,
        "bad_signature_deliveries": counts.kinds["bad_signature"],
        "bad_deliveries": {kind: counts.kinds[kind] for kind in BAD_KINDS},
        "retries": counts.retries,
        "resends": counts.resends,
        "out_of_order_versions": counts.out_of_order_versions,
        "late_first_deliveries": counts.late,
        "logical_events": sum(counts.logical_by_topic.values()),
        "logical_events_by_topic": dict(sorted(counts.logical_by_topic.items())),
        "stored_deliveries_by_topic": dict(sorted(counts.stored_by_topic.items())),
        "new_family_topics": dict(sorted(counts.new_family_by_topic.items())),
        "stored_deliveries_without_topic": counts.missing_topic_stored,
        "first_delivery_at": clock.iso_us(counts.first_us) if counts.first_us else None,
        "last_delivery_at": clock.iso_us(counts.last_us) if counts.last_us else None,
        "entities": {table: world.entity_counts.get(table, 0) for table in rows.TABLES},
        "exceptions": len(world.exceptions),
        "exceptions_by_kind": by_kind,
    }


def write_truth(
    options: Options, out: Path, *, workers: int | None = None, tmp_dir: Path | None = None
) -> dict[str, Any]:
    """Write the truth of `options`' world under `out`; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}

    def on_tables(tables: stream.TableRows) -> None:
        for table, table_rows in tables.items():
            writer = writers.get(table)
            if writer is None:
                writer = pq.ParquetWriter(out / f"{table}.parquet", schema(table))
                writers[table] = writer
            writer.write_table(to_table(table, table_rows))

    try:
        with stream.generate(
            options,
            secret=None,
            form=stream.TRUTH,
            workers=workers,
            on_tables=on_tables,
            tmp_dir=tmp_dir,
        ) as world:
            pass
    finally:
        for writer in writers.values():
            writer.close()
    for table in rows.TABLES:
        if table not in writers:
            pq.write_table(to_table(table, []), out / f"{table}.parquet")
    pq.write_table(exceptions_table(world.exceptions), out / "exceptions.parquet")
    result = summary(world)
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
