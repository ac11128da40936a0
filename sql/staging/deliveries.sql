-- grain: one row per stored delivery (one raw Parquet row). Key: (ingest_instance, sequence).
-- Runs once per load, after the loader made temp view `new_raw` (the raw records of files not
-- in ops.loaded_files, plus `raw_file`), rebuilt staging.topic_families and set variable
-- `batch_id`. Builds temp table `new_parsed` (every new delivery, parsed once) that
-- staging.events and staging.quarantine use.
-- It keeps the parsed payload and, for quarantined deliveries only, the raw body and headers:
-- bodies are most of the bytes, and copies of them are what made big loads spill to disk.
create table if not exists staging.deliveries (
    delivery_id varchar,
    source_event_id varchar,
    topic varchar,
    canonical_topic varchar,
    entity varchar,
    webhook_id varchar,
    order_id varchar,
    bag_id varchar,
    body_sha256 varchar,
    secret_id varchar,
    received_at timestamptz,
    ingest_instance varchar,
    sequence bigint,
    raw_file varchar,
    batch_id bigint,
    event_key varchar,
    dedupe_key varchar,
    delivery_kind varchar,
    entity_id bigint,
    date_last_modified timestamptz,
    quarantine_reason varchar,
    topic_documented boolean
);

-- Warehouses from before topic_documented: the column, and its value for the rows they hold
-- (each topic's flag in staging.topics; family names and unknown names are not documented).
alter table staging.deliveries add column if not exists topic_documented boolean;
update staging.deliveries as d
set topic_documented = coalesce(
    (select t.documented from staging.topics as t where t.topic = d.topic), false
)
where d.topic_documented is null;

-- The full request headers stay in the raw Parquet (and in staging.quarantine for the
-- deliveries that cannot be modeled); the documented ones are the typed columns above. Stored
-- here they were half of this table (random signatures and ids do not compress): dropped.
alter table staging.deliveries drop column if exists headers;

-- build: the statements below run on each load; the table definition above runs first.
-- What each topic name of the load is, decided once per distinct name: a listed topic
-- (staging.topics), else the first family whose pattern it matches (staging.topic_families,
-- with the shape its body must have), else nothing (unknown_topic).
create or replace temp table new_topics as
with
names as (
    select distinct topic from new_raw where topic is not null
),

listed as (
    select t.topic, t.entity, t.canonical_topic, t.documented, null::varchar[] as shape,
    from staging.topics as t
    semi join names using (topic)
),

by_family as (
    select n.topic, f.entity, n.topic as canonical_topic, false as documented, f.shape,
    from names as n
    inner join staging.topic_families as f on regexp_full_match(n.topic, f.pattern)
    where n.topic not in (select topic from staging.topics)
    qualify row_number() over (partition by n.topic order by f.priority) = 1
)

select * from listed
union all
select * from by_family;

create or replace temp table new_parsed as
with
decoded as (
    select
        r.*,
        try(decode(r.body)) as body_text,
    from new_raw as r
),

parsed as (
    -- one parse validates the body (payload: NULL when it is not JSON) and one reads the fields
    -- checked at the door from the parsed value (JSON fragments keep their types visible)
    select
        d.*,
        try_cast(d.body_text as json) as json_body,
        json_transform(json_body, '{
            "id": "JSON", "date_last_modified": "VARCHAR", "total": "JSON", "amount": "JSON",
            "bags": "JSON"
        }') as doc,
    from decoded as d
),

typed as (
    select
        p.*,
        case when starts_with(ltrim(p.body_text), '{') then p.json_body end as payload,
        t.entity,
        t.canonical_topic,
        coalesce(t.documented, false) as topic_documented,
        -- a family name's body must be that family's entity (staging.topic_families.shape);
        -- evaluated only for those (rare) names
        case
            when t.shape is null then true
            else coalesce(list_bool_or(list_transform(t.shape, lambda f: case
                when ends_with(f, '[]')
                    then json_type(p.json_body, '$.' || rtrim(f, '[]')) = 'ARRAY'
                else coalesce(json_type(p.json_body, '$.' || f), 'NULL') <> 'NULL'
            end)), false)
        end as entity_shape_ok,
        coalesce(p.doc.id, 'null') <> 'null' as has_id,
        case when regexp_full_match(p.doc.id, '-?[0-9]+') then p.doc.id::bigint end as entity_id,
        p.doc.date_last_modified as dlm_text,
        violet_ts(p.doc.date_last_modified) as date_last_modified,
        -- documented shapes checked at the door: money is integer, bags are a list
        coalesce(regexp_full_match(p.doc.total, '-?[0-9]+|null'), true)
        and coalesce(regexp_full_match(p.doc.amount, '-?[0-9]+|null'), true)
        and coalesce(p.doc.bags = 'null' or starts_with(p.doc.bags, '['), true) as shapes_ok,
    from parsed as p
    left join new_topics as t on t.topic = p.topic
),

final as (
    select
        *,
        coalesce(source_event_id, delivery_id, 'sha256:' || body_sha256) as event_key,
        coalesce(delivery_id, 'sha256:' || body_sha256) as dedupe_key,
        case
            when payload is null then 'invalid_json'
            when topic is null then 'missing_topic'
            when entity is null then 'unknown_topic'
            when not entity_shape_ok then 'wrong_shape'
            when not has_id then 'missing_id'
            when entity_id is null or not shapes_ok then 'wrong_type'
            when dlm_text is null then 'missing_timestamp'
            when date_last_modified is null then 'bad_timestamp'
        end as quarantine_reason,
    from typed
)

select
    * exclude (body, body_text, json_body, doc, headers),
    case when quarantine_reason is not null then body end as body,
    case when quarantine_reason is not null then headers end as headers,
from final;

-- first / retry / resend, by receive order within one delivery id (or body hash when the id is
-- missing), over the new deliveries and the stored ones sharing their ids, on narrow rows, so
-- that loading files in any order or in any number of batches gives the same answer. New rows
-- are inserted with their kind; a stored row changes only when a file loaded late held an
-- earlier delivery of its id.
create or replace temp table delivery_kinds as
select
    rid,
    ingest_instance,
    sequence,
    case
        when row_number() over (
            partition by dedupe_key order by received_at, ingest_instance, sequence
        ) > 1 then 'retry'
        when source_event_id is not null then 'resend'
        else 'first'
    end as kind,
from (
    select rowid as rid, dedupe_key, received_at, ingest_instance, sequence, source_event_id,
    from new_parsed
    union all
    select null, dedupe_key, received_at, ingest_instance, sequence, source_event_id,
    from staging.deliveries
    where dedupe_key in (select dedupe_key from new_parsed)
);

insert into staging.deliveries by name
select
    n.delivery_id,
    n.source_event_id,
    n.topic,
    n.canonical_topic,
    n.entity,
    n.webhook_id,
    n.order_id,
    n.bag_id,
    n.body_sha256,
    n.secret_id,
    n.received_at,
    n.ingest_instance,
    n.sequence,
    n.raw_file,
    getvariable('batch_id') as batch_id,
    n.event_key,
    n.dedupe_key,
    k.kind as delivery_kind,
    n.entity_id,
    n.date_last_modified,
    n.quarantine_reason,
    n.topic_documented,
from new_parsed as n
inner join delivery_kinds as k on k.rid = n.rowid;

update staging.deliveries as d
set delivery_kind = k.kind
from (select * from delivery_kinds where rid is null) as k
where d.ingest_instance = k.ingest_instance
    and d.sequence = k.sequence
    and d.delivery_kind <> k.kind;
