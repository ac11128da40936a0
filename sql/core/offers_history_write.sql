-- grain: one row per version of offers; key: (id, date_last_modified).
-- inputs: temp tables v_ids, v_pick and view v_rows (_history_merge.sql).
-- outputs: core.offers_history rows of the affected ids, deleted and written again; their
--   current versions appended to temp table cur_all (tbl, id, event_key), whose current state is
--   rewritten after every history is merged (sql/core/offers.sql).
delete from core.offers_history where id in (select id from v_ids);

insert into core.offers_history by name
select * from v_rows;

insert into cur_all
select 'offers' as tbl, id, event_key from v_pick where valid_to is null;
