-- grain: none (macros, no rows); key: none.
-- inputs: variable violet_future_tolerance (read when a macro runs).
-- outputs: the shared parsing macros (violet_*, utc_day, payment_transaction_shape).
-- Parsing rules every model shares, stated once.
-- Violet writes timestamps as 2025-04-08T16:21:52+0000 and as 2023-11-07T05:31:56Z (fractions
-- allowed): anything else is not a Violet timestamp and becomes NULL (a quarantine reason), and
-- so does a date before the year 2000 (Violet did not exist: 0001-01-01 and the like are
-- placeholders), a day the calendar does not have, or a spelling DuckDB would roll over into
-- another instant (T24:00:00, minute or second 60, offsets beyond +-14:59).
create or replace macro violet_ts(s) as
    case
        when regexp_full_match(s,
            '[2-9]\d{3}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):?[0-5]\d)'  -- noqa: LT05
        ) then try_cast(s as timestamptz)
    end;

-- The UTC calendar day of a TIMESTAMPTZ: cast(ts at time zone 'UTC' as date), by arithmetic on
-- its epoch instead of a conversion through ICU (about five times faster: bench/RESULTS.md).
create or replace macro utc_day(ts) as
    date '1970-01-01' + cast(fdiv(epoch_us(ts), 86400000000) as integer);

-- An integer field of a JSON object, or NULL when absent, not an integer or not a BIGINT.
create or replace macro violet_int(j, path) as
    case when json_type(j, path) in ('BIGINT', 'UBIGINT') then try_cast(j ->> path as bigint) end;

-- Money in minor units: integers only (a float or a string is not money).
create or replace macro violet_money(j, path) as violet_int(j, path);

-- Money parsed from JSON as text (json_transform to VARCHAR): an integer literal or NULL, so a
-- float such as 12.5 never turns into money by rounding (and one past BIGINT never fails a run:
-- the door quarantines it first, see violet_money_problem).
create or replace macro violet_minor(s) as
    case when regexp_full_match(s, '-?[0-9]+') then try_cast(s as bigint) end;

-- The fields read from a payment transaction's JSON, on its own topics and embedded in orders'
-- payment_transactions[] (json_transform shape; money and ids as text, see violet_minor).
create or replace macro payment_transaction_shape() as '{
    "id": "VARCHAR", "order_id": "VARCHAR", "related_bags": ["VARCHAR"],
    "related_refunds": ["VARCHAR"],
    "payment_provider": "VARCHAR", "payment_provider_transaction_id": "VARCHAR",
    "amount": "VARCHAR", "currency": "VARCHAR", "capture_status": "VARCHAR",
    "capture_method": "VARCHAR", "transfer_status": "VARCHAR", "transfer_method": "VARCHAR",
    "errors": "JSON", "date_created": "VARCHAR", "date_last_modified": "VARCHAR"
}';

-- A list of ids from JSON (either of two field names, the newer first, whichever is a non-empty
-- list): strings or integers, as text. Violet's samples send strings, an older table integers.
create or replace macro violet_id_list(newer, older) as
    coalesce(
        case when json_array_length(newer) > 0 then list_transform(
            cast(newer as json[]), lambda x: coalesce(x ->> '$', x::varchar)) end,
        list_transform(cast(try_cast(older as json[]) as json[]),
            lambda x: coalesce(x ->> '$', x::varchar))
    );

-- The door: staging/deliveries.sql checks, before anything is modeled, every value of a body
-- that a model types, so that a value that does not fit is a quarantine reason (with the path of
-- the value) and never a failed cast, or a silent NULL, later. The checkers take a value as
-- json_transform gives it ("JSON": the value's JSON text, so that its type shows; "VARCHAR" for
-- timestamps) and return the reason, or NULL when the value fits or is absent (whether it must be
-- there is the caller's to say).

-- Money is BIGINT minor units from 0 to 10^15 (Violet's amounts are never negative; finance's
-- invariants count on it): sums over millions of bags and finance's products (amount x
-- commission rate x 10^4) stay far inside BIGINT and HUGEINT.
create or replace macro violet_money_max() as 1000000000000000;

-- Counts (a bag line's quantity, a sync's totals).
create or replace macro violet_count_max() as 1000000000;

-- An id: an integer from 1 to 2^63 - 1 (BIGINT).
create or replace macro violet_id_problem(f) as
    case
        when f is null or f = 'null' then null
        when not regexp_full_match(f, '-?[0-9]+') then 'wrong_type'
        when not coalesce(try_cast(f as hugeint) between 1 and 9223372036854775807, false)
            then 'id_out_of_range'
    end;

-- The id of a valid value (see violet_id_problem), else NULL.
create or replace macro violet_id(f) as
    case when violet_id_problem(f) is null then try_cast(f as bigint) end;

-- An id in a list of ids (related_bags, ...): an integer or a string of digits.
create or replace macro violet_listed_id_problem(f) as
    violet_id_problem(case when regexp_full_match(f, '"-?[0-9]+"') then f[2:-2] else f end);

create or replace macro violet_money_problem(f) as
    case
        when f is null or f = 'null' then null
        when not regexp_full_match(f, '-?[0-9]+') then 'wrong_type'
        when not coalesce(try_cast(f as hugeint) between 0 and violet_money_max(), false)
            then 'money_out_of_range'
    end;

create or replace macro violet_count_problem(f) as
    case
        when f is null or f = 'null' then null
        when not regexp_full_match(f, '-?[0-9]+') then 'wrong_type'
        when not coalesce(try_cast(f as hugeint) between 0 and violet_count_max(), false)
            then 'number_out_of_range'
    end;

-- A percentage (commission_rate): a JSON number from 0 to 100, as DECIMAL(9, 4) reads it.
create or replace macro violet_rate_problem(f) as
    case
        when f is null or f = 'null' then null
        when not regexp_full_match(f, '-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?') then 'wrong_type'
        when not coalesce(try_cast(f as decimal(9, 4)) between 0 and 100, false)
            then 'number_out_of_range'
    end;

create or replace macro violet_bool_problem(f) as
    case when f not in ('true', 'false', 'null') then 'wrong_type' end;

-- The latest a body's timestamps may be: the delivery's receipt plus the tolerance (variable
-- violet_future_tolerance, set by the loader; 1 day when unset). A version dated further ahead
-- would stay current state until a later date came, maybe forever.
create or replace macro violet_latest(received_at) as
    received_at + coalesce(getvariable('violet_future_tolerance'), interval 1 day);

-- A timestamp: a Violet timestamp (violet_ts) no later than violet_latest.
create or replace macro violet_ts_problem(s, received_at) as
    case
        when s is null then null
        when not coalesce(violet_ts(s) <= violet_latest(received_at), false)
            then case when violet_ts(s) is null then 'bad_timestamp' else 'future_timestamp' end
    end;

-- A field that must be there (not absent, not JSON null) in the body: `reason` when it is not.
create or replace macro violet_required(f, reason) as
    case when f is null or f = 'null' then reason end;

-- The same for a field of an element of a list (at JSON path `path` of body j): only when the
-- element is an object (violet_element_problem reports it otherwise); j is parsed only then.
create or replace macro violet_child_required(f, j, path, reason) as
    case
        when f is not null and f <> 'null' then null
        when json_type(j, '$.' || path) = 'OBJECT' then reason
    end;

-- An element of a list that must be an object. id: one of its fields (present, it proves the
-- element an object without parsing j again).
create or replace macro violet_element_problem(id, j, path) as
    case
        when id is not null and id <> 'null' then null
        when coalesce(json_type(j, '$.' || path), 'NULL') <> 'OBJECT' then 'wrong_type'
    end;

-- A field that must be a list when it is there: typed is the field read as a list (json_transform
-- gives NULL unless it is one); j is parsed only when typed is NULL.
create or replace macro violet_list_problem(typed, j, path) as
    case
        when typed is not null then null
        when coalesce(json_type(j, '$.' || path), 'NULL') <> 'NULL' then 'wrong_type'
    end;

-- The same for a top-level field, whose presence the body's keys tell.
create or replace macro violet_top_list_problem(typed, keys, j, key) as
    case
        when typed is not null or not list_contains(keys, key) then null
        when coalesce(json_type(j, '$.' || key), 'NULL') <> 'NULL' then 'wrong_type'
    end;

-- A problem as text, 'reason path' (NULL when reason is NULL: no problem), so that an object's
-- checks combine by coalesce, the first that fails, and cost next to nothing when they pass.
create or replace macro violet_at(reason, path) as reason || ' ' || path;

-- The first element of a list that is not NULL.
create or replace macro violet_first(l) as list_filter(l, lambda x: x is not null)[1];

-- The first problem of a list of ids at `path` (typed: its elements as JSON text).
create or replace macro violet_id_list_problem(typed, path) as violet_first([
    violet_at(violet_listed_id_problem(x), path || '[' || (k - 1) || ']')
    for x, k in typed
]);

-- Whether a list holds an element twice (NULLs aside), and the index (1-based) of the first
-- element equal to an earlier one. l must be a column or a lambda's parameter: it is read
-- inside a list comprehension.
create or replace macro violet_has_repeat(l) as
    coalesce(list_bool_or([list_position(l, x) < k for x, k in l]), false);

create or replace macro violet_first_repeat(l) as
    list_position([list_position(l, x) < k for x, k in l], true);

create or replace macro violet_repeated_key(keys) as keys[violet_first_repeat(keys)];

-- The first problem of a payment transaction's fields: its own topic's body (prefix '') or an
-- element of an order's payment_transactions[] (prefix 'payment_transactions[i].').
create or replace macro violet_payment_problem(p, prefix, j, received_at) as coalesce(
    violet_at(violet_id_problem(p.order_id), prefix || 'order_id'),
    violet_at(violet_money_problem(p.amount), prefix || 'amount'),
    violet_at(
        violet_list_problem(p.related_bags, j, prefix || 'related_bags'), prefix || 'related_bags'),
    violet_id_list_problem(p.related_bags, prefix || 'related_bags'),
    violet_at(
        violet_list_problem(p.related_refunds, j, prefix || 'related_refunds'),
        prefix || 'related_refunds'),
    violet_id_list_problem(p.related_refunds, prefix || 'related_refunds'),
    violet_at(violet_ts_problem(p.date_created, received_at), prefix || 'date_created'),
    violet_at(
        violet_ts_problem(p.date_last_modified, received_at), prefix || 'date_last_modified')
);

-- The first problem of the fields of a body, for its entity: its id, what the entity's models
-- type (an entity's other fields are not checked), its timestamps. An order's bags and payment
-- transactions: violet_children_problem. doc: the body as violet_door_shape reads it; j: the
-- body; keys: its top-level keys.
create or replace macro violet_body_problem(entity, doc, j, keys, received_at) as coalesce(
    violet_at(violet_required(doc.id, 'missing_id'), 'id'),
    violet_at(violet_id_problem(doc.id), 'id'),
    case entity
        when 'order' then coalesce(
            violet_at(violet_money_problem(doc.sub_total), 'sub_total'),
            violet_at(violet_money_problem(doc.shipping_total), 'shipping_total'),
            violet_at(violet_money_problem(doc.tax_total), 'tax_total'),
            violet_at(violet_money_problem(doc.discount_total), 'discount_total'),
            -- finance reconciles every order (an order without payment is open for its total)
            violet_at(violet_required(doc.total, 'missing_field'), 'total'),
            violet_at(violet_money_problem(doc.total), 'total'),
            violet_at(violet_required(doc.currency, 'missing_field'), 'currency'),
            violet_at(violet_top_list_problem(doc.bags, keys, j, 'bags'), 'bags'),
            violet_at(
                violet_top_list_problem(doc.payment_transactions, keys, j, 'payment_transactions'),
                'payment_transactions')
        )
        when 'payment_transaction' then violet_payment_problem(doc, '', j, received_at)
        when 'transfer' then coalesce(
            violet_at(violet_id_problem(doc.payout_account_id), 'payout_account_id'),
            violet_at(violet_id_problem(doc.merchant_id), 'merchant_id'),
            -- finance reconciles every transfer: its amount and currency must be there
            violet_at(violet_required(doc.amount, 'missing_field'), 'amount'),
            violet_at(violet_money_problem(doc.amount), 'amount'),
            violet_at(violet_required(doc.currency, 'missing_field'), 'currency'),
            violet_at(
                violet_top_list_problem(doc.related_orders, keys, j, 'related_orders'),
                'related_orders'),
            violet_id_list_problem(doc.related_orders, 'related_orders'),
            violet_at(
                violet_top_list_problem(doc.related_bags, keys, j, 'related_bags'),
                'related_bags'),
            violet_id_list_problem(doc.related_bags, 'related_bags'),
            violet_at(
                violet_top_list_problem(doc.related_order_ids, keys, j, 'related_order_ids'),
                'related_order_ids'),
            violet_id_list_problem(doc.related_order_ids, 'related_order_ids'),
            violet_at(
                violet_top_list_problem(doc.related_bag_ids, keys, j, 'related_bag_ids'),
                'related_bag_ids'),
            violet_id_list_problem(doc.related_bag_ids, 'related_bag_ids'),
            violet_at(
                violet_top_list_problem(
                    doc.related_distributions, keys, j, 'related_distributions'),
                'related_distributions'),
            violet_at(
                violet_top_list_problem(
                    doc.related_distribution_ids, keys, j, 'related_distribution_ids'),
                'related_distribution_ids'),
            violet_at(
                violet_top_list_problem(doc.transfer_reversals, keys, j, 'transfer_reversals'),
                'transfer_reversals'),
            violet_at(violet_top_list_problem(doc.errors, keys, j, 'errors'), 'errors'),
            violet_first([coalesce(
                violet_at(
                    violet_count_problem(e.error_code), 'errors[' || (k - 1) || '].error_code'),
                violet_at(violet_id_problem(e.refund_id), 'errors[' || (k - 1) || '].refund_id'),
                violet_at(
                    violet_ts_problem(e.date_created, received_at),
                    'errors[' || (k - 1) || '].date_created')
            ) for e, k in doc.errors])
        )
        when 'merchant' then violet_at(violet_rate_problem(doc.commission_rate), 'commission_rate')
        when 'offer' then coalesce(
            violet_at(violet_id_problem(doc.merchant_id), 'merchant_id'),
            violet_at(violet_money_problem(doc.min_price), 'min_price'),
            violet_at(violet_money_problem(doc.max_price), 'max_price'),
            violet_at(violet_bool_problem(doc.available), 'available'),
            violet_at(violet_bool_problem(doc.visible), 'visible'),
            violet_at(violet_top_list_problem(doc.skus, keys, j, 'skus'), 'skus')
        )
        when 'collection' then violet_at(violet_id_problem(doc.merchant_id), 'merchant_id')
        when 'sync' then coalesce(
            violet_at(violet_id_problem(doc.merchant_id), 'merchant_id'),
            violet_at(violet_count_problem(doc.total_products), 'total_products'),
            violet_at(violet_count_problem(doc.total_collections), 'total_collections')
        )
        when 'payout_account' then coalesce(
            violet_at(violet_id_problem(doc.merchant_id), 'merchant_id'),
            violet_at(violet_bool_problem(doc.is_active), 'is_active'),
            violet_at(
                violet_bool_problem(doc.payment_provider_account.charges_enabled),
                'payment_provider_account.charges_enabled'),
            violet_at(
                violet_bool_problem(doc.payment_provider_account.payouts_enabled),
                'payment_provider_account.payouts_enabled'),
            violet_at(
                violet_list_problem(
                    doc.payment_provider_account.requirements.currently_due, j,
                    'payment_provider_account.requirements.currently_due'),
                'payment_provider_account.requirements.currently_due'),
            violet_at(
                violet_list_problem(
                    doc.payment_provider_account.requirements.past_due, j,
                    'payment_provider_account.requirements.past_due'),
                'payment_provider_account.requirements.past_due'),
            violet_at(violet_top_list_problem(doc.errors, keys, j, 'errors'), 'errors')
        )
    end,
    violet_at(violet_required(doc.date_last_modified, 'missing_timestamp'), 'date_last_modified'),
    violet_at(violet_ts_problem(doc.date_last_modified, received_at), 'date_last_modified'),
    violet_at(violet_ts_problem(doc.date_created, received_at), 'date_created')
);

-- The first problem of a bag line at `path` (bags[i].skus[k]).
create or replace macro violet_line_problem(s, path, j) as coalesce(
    violet_at(violet_element_problem(s.id, j, path), path),
    violet_at(violet_child_required(s.id, j, path, 'missing_id'), path || '.id'),
    violet_at(violet_id_problem(s.id), path || '.id'),
    violet_at(violet_id_problem(s.sku_id), path || '.sku_id'),
    violet_at(violet_id_problem(s.offer_id), path || '.offer_id'),
    violet_at(violet_count_problem(s.quantity), path || '.quantity'),
    violet_at(violet_money_problem(s.price), path || '.price'),
    violet_at(violet_money_problem(s.line_price), path || '.line_price')
);

-- A bag's refunds as typed objects (NULL unless the body holds a list there).
create or replace macro violet_typed_refunds(refunds) as
    case when starts_with(refunds, '[') then json_transform(refunds, '[{
        "id": "JSON", "amount": "JSON", "merchant_transfer_reversal_amount": "JSON",
        "date_created": "VARCHAR", "date_last_modified": "VARCHAR"
    }]') end;

-- The first problem of a bag at `path` (bags[i]): its fields, then its lines, then refunds[]
-- (Violet's Refund API data, rarely in a webhook: read as JSON text, parsed only when there).
create or replace macro violet_bag_problem(b, path, j, received_at) as coalesce(
    violet_at(violet_element_problem(b.id, j, path), path),
    violet_at(violet_child_required(b.id, j, path, 'missing_id'), path || '.id'),
    violet_at(violet_id_problem(b.id), path || '.id'),
    violet_at(violet_id_problem(b.order_id), path || '.order_id'),
    violet_at(violet_id_problem(b.merchant_id), path || '.merchant_id'),
    violet_at(violet_money_problem(b.sub_total), path || '.sub_total'),
    violet_at(violet_money_problem(b.shipping_total), path || '.shipping_total'),
    violet_at(violet_money_problem(b.tax_total), path || '.tax_total'),
    violet_at(violet_money_problem(b.discount_total), path || '.discount_total'),
    violet_at(violet_money_problem(b.total), path || '.total'),
    violet_at(violet_rate_problem(b.commission_rate), path || '.commission_rate'),
    violet_at(violet_list_problem(b.skus, j, path || '.skus'), path || '.skus'),
    violet_at(
        case when b.refunds <> 'null' and not starts_with(b.refunds, '[') then 'wrong_type' end,
        path || '.refunds'),
    violet_at(
        violet_child_required(b.date_last_modified, j, path, 'missing_timestamp'),
        path || '.date_last_modified'),
    violet_at(violet_ts_problem(b.date_last_modified, received_at), path || '.date_last_modified'),
    violet_at(violet_ts_problem(b.date_created, received_at), path || '.date_created'),
    violet_first([
        violet_line_problem(s, path || '.skus[' || (k - 1) || ']', j)
        for s, k in b.skus
    ]),
    violet_first([coalesce(
            violet_at(violet_id_problem(r.id), path || '.refunds[' || (k - 1) || '].id'),
            violet_at(
                violet_money_problem(r.amount), path || '.refunds[' || (k - 1) || '].amount'),
            violet_at(
                violet_money_problem(r.merchant_transfer_reversal_amount),
                path || '.refunds[' || (k - 1) || '].merchant_transfer_reversal_amount'),
            violet_at(
                violet_ts_problem(r.date_created, received_at),
                path || '.refunds[' || (k - 1) || '].date_created'),
            violet_at(
                violet_ts_problem(r.date_last_modified, received_at),
                path || '.refunds[' || (k - 1) || '].date_last_modified')
        ) for r, k in violet_typed_refunds(b.refunds)])
);

-- The first problem of an order's embedded payment transaction at `path`
-- (payment_transactions[i]).
create or replace macro violet_embedded_payment_problem(p, path, j, received_at) as coalesce(
    violet_at(violet_element_problem(p.id, j, path), path),
    violet_at(violet_child_required(p.id, j, path, 'missing_id'), path || '.id'),
    violet_at(violet_id_problem(p.id), path || '.id'),
    violet_at(
        violet_child_required(p.date_last_modified, j, path, 'missing_timestamp'),
        path || '.date_last_modified'),
    violet_payment_problem(p, path || '.', j, received_at)
);

-- The paths of an order's bag lines, over all its bags in order (bags[i].skus[k]).
create or replace macro violet_line_paths(doc) as
    flatten([
        ['bags[' || (i - 1) || '].skus[' || (k - 1) || ']' for s, k in b.skus]
        for b, i in doc.bags
    ]);

-- The first problem of an order's children: its bags in order (each with its lines), its
-- payment transactions, then the same bag, line or payment transaction twice (the later one;
-- bag_ids, line_ids, payment_ids: their ids as JSON text, lines over all the bags in order).
create or replace macro violet_children_problem(
    doc, j, received_at, bag_ids, line_ids, payment_ids
) as coalesce(
    violet_first([
        violet_bag_problem(b, 'bags[' || (i - 1) || ']', j, received_at)
        for b, i in doc.bags
    ]),
    violet_first([
        violet_embedded_payment_problem(
            p, 'payment_transactions[' || (i - 1) || ']', j, received_at)
        for p, i in doc.payment_transactions
    ]),
    violet_at(
        case when violet_has_repeat(bag_ids) then 'duplicate_child_id' end,
        'bags[' || (violet_first_repeat(bag_ids) - 1) || '].id'),
    violet_at(
        case when violet_has_repeat(line_ids) then 'duplicate_child_id' end,
        violet_line_paths(doc)[violet_first_repeat(line_ids)] || '.id'),
    violet_at(
        case when violet_has_repeat(payment_ids) then 'duplicate_child_id' end,
        'payment_transactions[' || (violet_first_repeat(payment_ids) - 1) || '].id')
);

-- Fast forms of the checks, for the common case: one regular expression checks all of an
-- object's numbers at once, and the answer is only "fine" (true) or "look closer" (false or
-- NULL: the exact checks above then run). They say "fine" only where the exact checks find
-- nothing: ids of 1 to 18 digits (< 2^63), money of 0 to 15 digits (< 10^15), counts of up to 9
-- digits (< 10^9), rates of 0-99.9999 or 100, timestamps no later than violet_latest; anything
-- else (a JSON null where a number is, a missing list, refunds[]) is looked at closely. An
-- absent optional value is written as one that passes.
create or replace macro violet_re_id() as '[1-9][0-9]{0,17}';
create or replace macro violet_re_opt_id() as '(null|[1-9][0-9]{0,17})';
create or replace macro violet_re_money() as '(0|[1-9][0-9]{0,14})';
create or replace macro violet_re_count() as '(0|[1-9][0-9]{0,8})';
create or replace macro violet_re_rate() as '([0-9]{1,2}(\.[0-9]{1,4})?|100(\.0{1,4})?)';
create or replace macro violet_re_bool() as '(true|false|null)';

-- Ids listed as JSON text (integers or strings of digits), joined by commas.
create or replace macro violet_re_listed_ids() as
    '([1-9][0-9]{0,17}|"[1-9][0-9]{0,17}")(,([1-9][0-9]{0,17}|"[1-9][0-9]{0,17}"))*';

-- The JSON types of a body's lists (json_type of their paths) are lists or nulls.
create or replace macro violet_fast_lists(types) as
    regexp_full_match(array_to_string(types, ','), '((ARRAY|NULL)(,(ARRAY|NULL))*)?');

create or replace macro violet_line_fine(s) as
    s.id is not null
    and regexp_full_match(
        concat_ws(',', s.id, coalesce(s.sku_id, 'null'), coalesce(s.offer_id, 'null'),
            coalesce(s.quantity, '0'), coalesce(s.price, '0'), coalesce(s.line_price, '0')),
        violet_re_id() || ',' || violet_re_opt_id() || ',' || violet_re_opt_id() || ','
        || violet_re_count() || ',' || violet_re_money() || ',' || violet_re_money());

create or replace macro violet_bag_fine(b, latest) as
    b.id is not null and b.date_last_modified is not null and b.skus is not null
    and b.refunds is null
    and regexp_full_match(
        concat_ws(',', b.id, coalesce(b.order_id, 'null'), coalesce(b.merchant_id, 'null'),
            coalesce(b.sub_total, '0'), coalesce(b.shipping_total, '0'),
            coalesce(b.tax_total, '0'), coalesce(b.discount_total, '0'),
            coalesce(b.total, '0'), coalesce(b.commission_rate, '0')),
        violet_re_id() || ',' || violet_re_opt_id() || ',' || violet_re_opt_id() || ','
        || violet_re_money() || ',' || violet_re_money() || ',' || violet_re_money() || ','
        || violet_re_money() || ',' || violet_re_money() || ',' || violet_re_rate())
    and violet_ts(b.date_last_modified) <= latest
    and (b.date_created is null or violet_ts(b.date_created) <= latest);

create or replace macro violet_payment_fine(p, latest) as
    p.id is not null and p.date_last_modified is not null
    and p.related_bags is not null and p.related_refunds is not null
    and regexp_full_match(
        concat_ws(',', p.id, coalesce(p.order_id, 'null'), coalesce(p.amount, '0')),
        violet_re_id() || ',' || violet_re_opt_id() || ',' || violet_re_money())
    and violet_ts(p.date_last_modified) <= latest
    and (p.date_created is null or violet_ts(p.date_created) <= latest)
    and regexp_full_match(
        concat_ws(',',
            nullif(array_to_string(p.related_bags, ','), ''),
            nullif(array_to_string(p.related_refunds, ','), ''), '1'),
        violet_re_listed_ids());

-- Whether an order's children need no closer look (lines: every bag's lines, in order).
create or replace macro violet_children_fine(doc, lines, latest, bag_ids, line_ids, payment_ids) as
    coalesce(list_bool_and(list_transform(
        doc.bags, lambda b: coalesce(violet_bag_fine(b, latest), false))), true)
    and coalesce(list_bool_and(list_transform(
        lines, lambda s: coalesce(violet_line_fine(s), false))), true)
    and coalesce(list_bool_and(list_transform(
        doc.payment_transactions, lambda p: coalesce(violet_payment_fine(p, latest), false))), true)
    and not violet_has_repeat(bag_ids) and not violet_has_repeat(line_ids)
    and not violet_has_repeat(payment_ids);

-- The fast form of violet_body_problem, for every entity at once (it looks at every field the
-- door reads, whichever entity reads it): the common case needs no closer look. dlm: the body's
-- date_last_modified as violet_ts reads it.
create or replace macro violet_body_fine(doc, entity, j, dlm, latest) as
    doc.id is not null
    and regexp_full_match(
        concat_ws(',', doc.id, coalesce(doc.order_id, 'null'), coalesce(doc.merchant_id, 'null'),
            coalesce(doc.payout_account_id, 'null'), coalesce(doc.sub_total, '0'),
            coalesce(doc.shipping_total, '0'), coalesce(doc.tax_total, '0'),
            coalesce(doc.discount_total, '0'), coalesce(doc.total, '0'),
            coalesce(doc.amount, '0'), coalesce(doc.min_price, '0'), coalesce(doc.max_price, '0'),
            coalesce(doc.total_products, '0'), coalesce(doc.total_collections, '0'),
            coalesce(doc.commission_rate, '0'), coalesce(doc.is_active, 'null'),
            coalesce(doc.available, 'null'), coalesce(doc.visible, 'null'),
            coalesce(doc.payment_provider_account.charges_enabled, 'null'),
            coalesce(doc.payment_provider_account.payouts_enabled, 'null')),
        violet_re_id() || ',' || violet_re_opt_id() || ',' || violet_re_opt_id() || ','
        || violet_re_opt_id() || ',' || violet_re_money() || ',' || violet_re_money() || ','
        || violet_re_money() || ',' || violet_re_money() || ',' || violet_re_money() || ','
        || violet_re_money() || ',' || violet_re_money() || ',' || violet_re_money() || ','
        || violet_re_count() || ',' || violet_re_count() || ',' || violet_re_rate() || ','
        || violet_re_bool() || ',' || violet_re_bool() || ',' || violet_re_bool() || ','
        || violet_re_bool() || ',' || violet_re_bool())
    and dlm <= latest
    and (doc.date_created is null or violet_ts(doc.date_created) <= latest)
    -- ids listed are ids; every list that is there is a list (for the entities whose lists a
    -- model reads: their bodies are small, and one more parse of them is cheap)
    and regexp_full_match(
        concat_ws(',',
            nullif(array_to_string(doc.related_orders, ','), ''),
            nullif(array_to_string(doc.related_bags, ','), ''),
            nullif(array_to_string(doc.related_order_ids, ','), ''),
            nullif(array_to_string(doc.related_bag_ids, ','), ''),
            nullif(array_to_string(doc.related_refunds, ','), ''), '1'),
        violet_re_listed_ids())
    -- a transfer's errors[] (finance reads their codes, refund ids and dates)
    and coalesce(list_bool_and(list_transform(doc.errors, lambda e: coalesce(
        regexp_full_match(
            concat_ws(',', coalesce(e.error_code, '0'), coalesce(e.refund_id, 'null')),
            violet_re_count() || ',' || violet_re_opt_id())
        and (e.date_created is null or violet_ts(e.date_created) <= latest),
        false))), true)
    and case entity
        when 'order' then doc.bags is not null and doc.payment_transactions is not null
            and doc.total is not null and doc.currency is not null and doc.currency <> 'null'
        when 'transfer' then doc.amount is not null and doc.currency is not null
            and doc.currency <> 'null' and violet_fast_lists(json_type(j, [
            '$.related_orders', '$.related_bags', '$.related_distributions',
            '$.related_order_ids', '$.related_bag_ids', '$.related_distribution_ids',
            '$.transfer_reversals', '$.errors'
        ]))
        when 'payment_transaction' then violet_fast_lists(
            json_type(j, ['$.related_bags', '$.related_refunds']))
        when 'offer' then violet_fast_lists(json_type(j, ['$.skus']))
        when 'payout_account' then violet_fast_lists(json_type(j, [
            '$.payment_provider_account.requirements.currently_due',
            '$.payment_provider_account.requirements.past_due', '$.errors'
        ]))
        else true
    end;

-- Where a key appears twice below the top level of an order's body j (evaluated only for such
-- bodies; doc: j as violet_door_shape reads it): the path of the first in bags[], bags[].skus[]
-- or payment_transactions[], else '..' and the key (an object of another list of the body, such
-- as errors[]: list_keys, json_keys of '$.*[*]').
create or replace macro violet_duplicate_key_path(j, doc, list_keys) as coalesce(
    violet_first([
        case when violet_has_repeat(l)
            then 'bags[' || (i - 1) || '].' || violet_repeated_key(l) end
        for l, i in json_keys(j, '$.bags[*]')
    ]),
    violet_first([
        case when violet_has_repeat(l)
            then violet_line_paths(doc)[k] || '.' || violet_repeated_key(l) end
        for l, k in json_keys(j, '$.bags[*].skus[*]')
    ]),
    violet_first([
        case when violet_has_repeat(l)
            then 'payment_transactions[' || (i - 1) || '].' || violet_repeated_key(l) end
        for l, i in json_keys(j, '$.payment_transactions[*]')
    ]),
    '..' || violet_first(list_transform(list_keys, lambda l: violet_repeated_key(l)))
);

-- What the door reads of a body (json_transform shape): every field some model types, of any
-- entity; ids, money and numbers as JSON text (so that a string or a float shows as one), lists
-- as lists (NULL when a value is not one; ["BOOLEAN"]: only its being a list is checked; JSON
-- text is slower to write), timestamps as text.
create or replace macro violet_door_shape() as '{
    "id": "JSON", "date_last_modified": "VARCHAR", "date_created": "VARCHAR",
    "order_id": "JSON", "merchant_id": "JSON", "payout_account_id": "JSON",
    "sub_total": "JSON", "shipping_total": "JSON", "tax_total": "JSON",
    "discount_total": "JSON", "total": "JSON", "amount": "JSON", "currency": "JSON",
    "min_price": "JSON", "max_price": "JSON", "commission_rate": "JSON",
    "total_products": "JSON", "total_collections": "JSON",
    "is_active": "JSON", "available": "JSON", "visible": "JSON",
    "skus": ["BOOLEAN"], "transfer_reversals": ["BOOLEAN"],
    "errors": [{"error_code": "JSON", "refund_id": "JSON", "date_created": "VARCHAR"}],
    "related_orders": ["JSON"], "related_bags": ["JSON"], "related_distributions": ["BOOLEAN"],
    "related_order_ids": ["JSON"], "related_bag_ids": ["JSON"],
    "related_distribution_ids": ["BOOLEAN"], "related_refunds": ["JSON"],
    "payment_provider_account": {
        "charges_enabled": "JSON", "payouts_enabled": "JSON",
        "requirements": {"currently_due": ["BOOLEAN"], "past_due": ["BOOLEAN"]}
    },
    "bags": [{
        "id": "JSON", "order_id": "JSON", "merchant_id": "JSON",
        "sub_total": "JSON", "shipping_total": "JSON", "tax_total": "JSON",
        "discount_total": "JSON", "total": "JSON", "commission_rate": "JSON",
        "date_created": "VARCHAR", "date_last_modified": "VARCHAR", "refunds": "JSON",
        "skus": [{
            "id": "JSON", "sku_id": "JSON", "offer_id": "JSON", "quantity": "JSON",
            "price": "JSON", "line_price": "JSON"
        }]
    }],
    "payment_transactions": [{
        "id": "JSON", "order_id": "JSON", "amount": "JSON", "date_created": "VARCHAR",
        "date_last_modified": "VARCHAR", "related_bags": ["JSON"], "related_refunds": ["JSON"]
    }]
}';
