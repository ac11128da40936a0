"""The core checks pass on a good build, and each fails on the fault it names (and only it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.core.checks import CORE_CHECKS
from pipelines.resources import Warehouse


def failing(con: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> set[str]:
    return {
        f"{spec.asset_key.to_user_string()}:{spec.name}"
        for spec, evaluate in CORE_CHECKS
        if not evaluate(con, warehouse).passed
    }


def test_core_checks_pass_and_each_can_fail(built: Path, tmp_path: Path) -> None:
    shutil.copyfile(built, tmp_path / "warehouse.duckdb")
    warehouse = Warehouse(data_dir=str(tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        assert failing(con, warehouse) == set()
        con.execute(
            """
            insert into core.orders select * from core.orders limit 1;
            update core.merchants set id = null where id = (select min(id) from core.merchants);
            update core.bags set payload = null where id = (select min(id) from core.bags);
            -- a second current version of one transfer
            insert into core.transfers_history
                select * from core.transfers_history where is_current limit 1;
            -- an older bag line version whose window runs past the next one's start
            update core.bag_skus_history set valid_to = valid_to + interval 1 day
            where not is_current
                and id = (select min(id) from core.bag_skus_history where not is_current);
            -- a current version that is not the current table's row
            update core.offers set date_last_modified = date_last_modified - interval 1 second
            where id = (select min(id) from core.offers);
            update core.transfers set status = 'SOMETHING_NEW'
            where id = (select min(id) from core.transfers);
            """
        )
        assert failing(con, warehouse) == {
            "core/orders:id_unique_not_null",
            "core/merchants:id_unique_not_null",
            # ...whose history's current row is then no longer in core.merchants
            "core/merchants_history:one_current_version_no_overlap",
            "core/bags:id_unique_not_null",
            "core/transfers_history:one_current_version_no_overlap",
            "core/bag_skus_history:one_current_version_no_overlap",
            "core/offers_history:one_current_version_no_overlap",
            "core/transfers:known_status_values",
        }
