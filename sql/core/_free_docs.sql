-- grain: none (it only drops scratch work); key: none.
-- inputs: the temp views and table of _event_docs.sql and _history_merge.sql.
-- outputs: none: the parsed order documents and the views over them are dropped once every
--   history is merged, so that their memory is free before the current rows read payloads.
drop view v_rows;
drop view picked_events;
drop view picked_docs;
drop view changed_docs;
drop view changed_entity_events;
drop view order_docs;
drop view entity_events;
drop table event_docs;
