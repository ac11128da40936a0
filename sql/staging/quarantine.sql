-- grain: one row per stored delivery that cannot be modeled. Key: (ingest_instance, sequence).
-- Reasons, the first that applies: invalid_json (not UTF-8 JSON, or not an object),
-- missing_topic, unknown_topic (a name neither in staging.topics nor of a known family),
-- wrong_shape (a new name of a known family whose body is not that family's entity, see
-- staging.topic_families), missing_id, wrong_type (id not an integer, total/amount not integer
-- minor units, bags not a list), missing_timestamp, bad_timestamp (date_last_modified not a
-- Violet timestamp).
-- Quarantine never blocks the rest: these deliveries just do not become events.
create table if not exists staging.quarantine (
    ingest_instance varchar,
    sequence bigint,
    delivery_id varchar,
    event_key varchar,
    topic varchar,
    received_at timestamptz,
    raw_file varchar,
    batch_id bigint,
    reason varchar,
    body blob,
    headers varchar
);

alter table staging.quarantine add column if not exists headers varchar;

-- build: the statements below run on each load; the table definition above runs first.
insert into staging.quarantine by name
select
    ingest_instance,
    sequence,
    delivery_id,
    event_key,
    topic,
    received_at,
    raw_file,
    getvariable('batch_id') as batch_id,
    quarantine_reason as reason,
    body,
    headers,
from new_parsed
where quarantine_reason is not null;
