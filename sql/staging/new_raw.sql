-- grain: one row per stored delivery of the files this load reads (one raw Parquet row); key:
--   (ingest_instance, sequence).
-- inputs: variables staging_files (the absolute paths of the raw files not yet in
--   ops.loaded_files that this load takes, oldest first) and staging_raw_dir (the raw root they
--   are under, without a trailing slash).
-- outputs: temp view new_raw: the raw columns (union by name: files of an older layout lack a
--   column or two) plus raw_file, the file's path relative to the raw root (as
--   ops.loaded_files records it). A view, not a table: the bodies are read from Parquet once,
--   straight into the parse of deliveries.sql.
create or replace temp view new_raw as
select
    * exclude (filename),
    substr(filename, length(getvariable('staging_raw_dir')) + 2) as raw_file,
from read_parquet(getvariable('staging_files'), union_by_name = true, filename = true);
