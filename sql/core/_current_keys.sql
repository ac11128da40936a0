-- grain: one row per (tbl, id) of an entity whose history changed in this run; key: (tbl, id).
-- inputs: none (run once per core build, before the first entity's history is merged).
-- outputs: temp table cur_all (tbl: the entity, e.g. 'orders'; id; event_key: the event that
--   holds its current version), filled by every <entity>_history_write.sql; temp table cur_need
--   (the same columns: the rows of cur_all whose payload is not already in the current table),
--   filled by _current_need.sql. <entity>.sql reads both to rewrite the current rows.
create or replace temp table cur_all (tbl varchar, id bigint, event_key varchar);

create or replace temp table cur_need (tbl varchar, id bigint, event_key varchar);
