-- grain: none (variables, no rows); key: none.
-- inputs: variable finance_settings, the struct the finance step sets from its settings
--   (FinanceSettings in pipelines/resources.py, VIOLET_* environment variables): as_of (the
--   instant finance looks from) and every grace period in whole microseconds (*_us).
-- outputs: variables as_of (timestamptz) and the grace periods as intervals, which the finance
--   files read with getvariable:
--   capture_grace             a payment may stay authorized this long after its date_created
--                             before CAPTURE_MISSING;
--   custom_capture_grace      the same when its capture_method is CUSTOM (the channel captures
--                             later, e.g. at fulfilment);
--   transfer_grace            a captured, owed bag may wait this long after its capture for a
--                             transfer;
--   scheduled_transfer_grace  the same, after the bag's fulfilment, when its merchant is paid in
--                             batches (scheduled transfers);
--   reversal_grace            a refund may wait this long after its date_created for its
--                             transfer reversal;
--   reference_grace           a transfer may name an order or bag not received yet for this long.
-- Intervals are whole microseconds (to_microseconds), never calendar days: a grace is the same
-- length on every day of the year.
set variable as_of = getvariable('finance_settings').as_of;
set variable capture_grace = to_microseconds(getvariable('finance_settings').capture_grace_us);
set variable custom_capture_grace = to_microseconds(
    getvariable('finance_settings').custom_capture_grace_us
);
set variable transfer_grace = to_microseconds(getvariable('finance_settings').transfer_grace_us);
set variable scheduled_transfer_grace = to_microseconds(
    getvariable('finance_settings').scheduled_transfer_grace_us
);
set variable reversal_grace = to_microseconds(getvariable('finance_settings').reversal_grace_us);
set variable reference_grace = to_microseconds(
    getvariable('finance_settings').reference_grace_us
);
