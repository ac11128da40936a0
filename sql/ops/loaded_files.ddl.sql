-- grain: one row per raw Parquet file loaded into staging. Key: file (path under raw/violet).
-- The ledger of what is loaded: a load reads only files not listed here, so a lost sensor
-- cursor or a repeated run never loads a file twice.
create table if not exists ops.loaded_files (
    file varchar,
    bytes bigint,
    deliveries bigint,
    batch_id bigint,
    loaded_at timestamptz,
    run_id varchar
);

create table if not exists ops.model_state (
    model varchar,
    batch_id bigint,
    updated_at timestamptz
);
