-- grain: one row per exception someone acted on at the desk; key: exception_id.
-- inputs: temp table fin_actions (the desk's append-only store).
-- outputs: temp table fin_workflow.
-- temp: the finance desk's state of every exception someone acted on. Input: temp table
-- fin_actions (every action of the desk's append-only store, pipelines/finance/desk/store.py). Key:
-- exception_id. The newest assign gives the owner, the newest note (a comment, or the reason of
-- a resolve) the note; the newest ack, snooze, resolve or reopen gives the state, with the kind
-- and amount the person saw then (seen_kind, seen_amount_minor) and, for a snooze, its end.
-- exception_log.sql turns it into status, which also depends on the exception as it is now.
create or replace temp table fin_workflow as
with
latest as (
    select
        exception_id,
        arg_max(owner, action_id) filter (where action = 'assign') as owner,
        arg_max(note, action_id) filter (where note is not null) as note,
        max(action_id) filter (where action in ('ack', 'snooze', 'resolve', 'reopen'))
            as state_action_id,
        max(acted_at) filter (where action = 'ack') as acknowledged_at,
        count(*) as actions,
    from fin_actions
    group by exception_id
),

final as (
    select
        l.exception_id,
        l.owner,
        l.note,
        l.acknowledged_at,
        l.actions,
        s.action as state_action,
        s.acted_at as state_at,
        s.until as snoozed_until,
        s.seen_kind,
        s.seen_amount_minor,
    from latest as l
    left join fin_actions as s on s.action_id = l.state_action_id
)

select * from final
