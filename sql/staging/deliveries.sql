-- grain: one row per stored delivery (one raw Parquet row); key: (ingest_instance, sequence).
-- inputs: temp view new_raw (the loader's new raw records); staging.topics,
--   staging.topic_families, staging.deliveries, staging.events; variable batch_id.
-- outputs: staging.deliveries (new rows; retries marked); temp tables new_parsed, new_topics,
--   delivery_kinds.
-- Runs once per load, after new_raw.sql made temp view `new_raw` (the raw records of files not
-- in ops.loaded_files, plus `raw_file`), rebuilt staging.topic_families and set variable
-- `batch_id` (and violet_future_tolerance). Builds temp table `new_parsed` (every new delivery,
-- parsed once) that staging.events and staging.quarantine use. The door: every value of a body
-- that a model types is checked here (sql/macros.sql), so that what does not fit is quarantined
-- with its reason and path (staging/quarantine.sql lists them) instead of failing a later step.
-- It keeps the parsed payload and, for quarantined deliveries only, the raw body and headers:
-- bodies are most of the bytes, and copies of them are what made big loads spill to disk.
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
    -- One parse validates the body (payload: NULL when it is not a JSON object), one reads every
    -- field a model types (violet_door_shape: JSON text where the type must show), one lists the
    -- keys of its top level (which fields are there, and duplicate keys) and, for an order, two
    -- list those of the objects of its lists (bags[], payment_transactions[], errors[]) and of
    -- its bags' lines (duplicate keys).
    select
        d.*,
        t.entity,
        t.canonical_topic,
        coalesce(t.documented, false) as topic_documented,
        t.shape,
        case
            when starts_with(ltrim(d.body_text), '{') then try_cast(d.body_text as json)
        end as payload,
        json_transform(payload, violet_door_shape()) as doc,
        json_keys(payload) as top_keys,
        case when t.entity = 'order' then json_keys(payload, '$.*[*]') end as list_keys,
        case when t.entity = 'order' then json_keys(payload, '$.bags[*].skus[*]') end
            as line_keys,
    from decoded as d
    left join new_topics as t on t.topic = d.topic
),

children as (
    -- an order's children's ids (JSON text), for the same child twice (violet_first_repeat)
    select
        p.*,
        violet_latest(p.received_at) as latest,
        list_transform(p.doc.bags, lambda b: b.id) as bag_ids,
        flatten(list_transform(p.doc.bags, lambda b: b.skus)) as lines,
        list_transform(lines, lambda s: s.id) as line_ids,
        list_transform(p.doc.payment_transactions, lambda x: x.id) as payment_ids,
    from parsed as p
),

checked as (
    select
        c.*,
        -- a family name's body must be that family's entity (staging.topic_families.shape);
        -- evaluated only for those (rare) names
        case
            when c.shape is null then true
            else coalesce(list_bool_or(list_transform(c.shape, lambda f: case
                when ends_with(f, '[]')
                    then json_type(c.payload, '$.' || rtrim(f, '[]')) = 'ARRAY'
                else coalesce(json_type(c.payload, '$.' || f), 'NULL') <> 'NULL'
            end)), false)
        end as entity_shape_ok,
        -- Python's json reads a key given twice as its last value, DuckDB's parser as its first:
        -- such a body is quarantined rather than read one way
        case
            when violet_has_repeat(c.top_keys) then violet_repeated_key(c.top_keys)
            when list_bool_or(list_transform(c.list_keys, lambda l: violet_has_repeat(l)))
                or list_bool_or(list_transform(c.line_keys, lambda l: violet_has_repeat(l)))
                then violet_duplicate_key_path(c.payload, c.doc, c.list_keys)
        end as duplicate_key,
        violet_id(c.doc.id) as entity_id,
        violet_ts(c.doc.date_last_modified) as date_last_modified,
        -- 'reason path' of the first problem: the body's own fields, then (orders) its children;
        -- looked for only when the fast checks do not pass
        case
            when coalesce(
                violet_body_fine(c.doc, c.entity, c.payload, date_last_modified, c.latest)
                and (c.entity <> 'order' or violet_children_fine(
                    c.doc, c.lines, c.latest, c.bag_ids, c.line_ids, c.payment_ids
                )),
                false
            ) then null
            else coalesce(
                violet_body_problem(c.entity, c.doc, c.payload, c.top_keys, c.received_at),
                case when c.entity = 'order' then violet_children_problem(
                    c.doc, c.payload, c.received_at, c.bag_ids, c.line_ids, c.payment_ids
                ) end
            )
        end as problem,
    from children as c
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
            when duplicate_key is not null then 'duplicate_key'
            when not entity_shape_ok then 'wrong_shape'
            else split_part(problem, ' ', 1)
        end as quarantine_reason,
        case
            when payload is null or topic is null or entity is null then null
            when duplicate_key is not null then duplicate_key
            when entity_shape_ok then nullif(split_part(problem, ' ', 2), '')
        end as quarantine_detail,
    from checked
)

select
    * exclude (
        body, body_text, doc, headers, shape, top_keys, list_keys, line_keys,
        latest, bag_ids, lines, line_ids, payment_ids, entity_shape_ok, duplicate_key, problem
    ),
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
) as candidates;

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
    n.quarantine_detail,
from new_parsed as n
inner join delivery_kinds as k on k.rid = n.rowid;

update staging.deliveries as d
set delivery_kind = k.kind
from (select * from delivery_kinds where rid is null) as k
where d.ingest_instance = k.ingest_instance
    and d.sequence = k.sequence
    and d.delivery_kind <> k.kind;
