-- grain: one row per version of bag_skus; key: (id, date_last_modified).
-- inputs: temp tables v_ids, v_pick and view v_rows (_history_merge.sql).
-- outputs: core.bag_skus_history rows of the affected ids, deleted and written again; their
--   current versions appended to temp table cur_all (tbl, id, event_key), whose current state is
--   rewritten after every history is merged (sql/core/bag_skus.sql).
delete from core.bag_skus_history where id in (select id from v_ids);

insert into core.bag_skus_history by name
select * from v_rows;

insert into cur_all
select 'bag_skus' as tbl, id, event_key from v_pick where valid_to is null;
