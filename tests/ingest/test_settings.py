from __future__ import annotations

from pathlib import Path

import pytest

from ingest.settings import Settings, SettingsError
from warehouse_files import layout


def test_refuses_without_a_secret() -> None:
    with pytest.raises(SettingsError, match="VIOLET_APP_SECRET"):
        Settings.from_env({})


def test_defaults() -> None:
    s = Settings.from_env({"VIOLET_APP_SECRET": "x"})
    assert s.data_dir == Path("data")
    assert s.max_body_bytes == 1024 * 1024
    assert s.seal_interval_seconds == 30.0
    assert s.raw_dir == layout.raw_dir(Path("data"))
    assert s.wal_dir == layout.wal_dir(Path("data"))


def test_extra_secrets_for_rotation_are_named_by_suffix() -> None:
    s = Settings.from_env(
        {"VIOLET_APP_SECRET": "new", "VIOLET_APP_SECRET_OLD": "old", "VIOLET_APP_SECRET_Q3": "q3"}
    )
    assert [(sid, sec.reveal()) for sid, sec in s.secrets] == [
        ("primary", "new"),
        ("old", "old"),
        ("q3", "q3"),
    ]


def test_only_extra_secrets_is_enough() -> None:
    s = Settings.from_env({"VIOLET_APP_SECRET_NEXT": "n"})
    assert [sid for sid, _ in s.secrets] == ["next"]


def test_secrets_never_print() -> None:
    s = Settings.from_env({"VIOLET_APP_SECRET": "hunter2-very-secret"})
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.secrets)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("VIOLET_MAX_BODY_BYTES", "lots", "must be an integer"),
        ("VIOLET_MAX_BODY_BYTES", "0", "at least 1"),
        ("VIOLET_SEAL_INTERVAL_SECONDS", "-1", "greater than 0"),
        ("VIOLET_ACCESS_LOG", "maybe", "true or false"),
        ("VIOLET_LOG_LEVEL", "loud", "one of"),
    ],
)
def test_malformed_values_are_named(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as err:
        Settings.from_env({"VIOLET_APP_SECRET": "x", key: value})
    assert key in str(err.value)


def test_values_are_read() -> None:
    s = Settings.from_env(
        {
            "VIOLET_APP_SECRET": "x",
            "VIOLET_DATA_DIR": "/srv/violet",
            "VIOLET_MAX_BODY_BYTES": "2048",
            "VIOLET_SEAL_MAX_RECORDS": "10",
            "VIOLET_REDACT_HEADERS": "X-Shared-Token, x-other",
            "VIOLET_INSTANCE_NAME": "ingest a.b",
        }
    )
    assert s.data_dir == Path("/srv/violet")
    assert s.max_body_bytes == 2048
    assert s.seal_max_records == 10
    assert {"x-shared-token", "x-other", "authorization"} <= s.redact_headers
    assert s.instance_name == "ingest-a-b"


def test_bounds_on_unverified_work_have_defaults_and_are_read() -> None:
    s = Settings.from_env({"VIOLET_APP_SECRET": "x"})
    assert (s.max_header_bytes, s.header_timeout_seconds, s.body_timeout_seconds) == (
        16384,
        10.0,
        15.0,
    )
    assert (s.keepalive_timeout_seconds, s.shutdown_timeout_seconds) == (5, 5)
    assert (s.max_connections, s.max_pending_body_bytes) == (1000, 64 * 1024 * 1024)
    s = Settings.from_env(
        {
            "VIOLET_APP_SECRET": "x",
            "VIOLET_MAX_HEADER_BYTES": "8192",
            "VIOLET_HEADER_TIMEOUT_SECONDS": "2.5",
            "VIOLET_BODY_TIMEOUT_SECONDS": "4",
            "VIOLET_KEEPALIVE_TIMEOUT_SECONDS": "2",
            "VIOLET_MAX_CONNECTIONS": "50",
            "VIOLET_MAX_PENDING_BODY_BYTES": "2097152",
            "VIOLET_SHUTDOWN_TIMEOUT_SECONDS": "3",
        }
    )
    assert (s.max_header_bytes, s.header_timeout_seconds, s.body_timeout_seconds) == (
        8192,
        2.5,
        4.0,
    )
    assert (s.keepalive_timeout_seconds, s.max_connections) == (2, 50)
    assert (s.max_pending_body_bytes, s.shutdown_timeout_seconds) == (2097152, 3)


def test_the_body_budget_must_hold_one_largest_body() -> None:
    with pytest.raises(SettingsError, match="VIOLET_MAX_PENDING_BODY_BYTES"):
        Settings.from_env(
            {
                "VIOLET_APP_SECRET": "x",
                "VIOLET_MAX_BODY_BYTES": "2000000",
                "VIOLET_MAX_PENDING_BODY_BYTES": "1000000",
            }
        )
    # A larger body limit alone raises the budget's default with it.
    s = Settings.from_env({"VIOLET_APP_SECRET": "x", "VIOLET_MAX_BODY_BYTES": str(100 << 20)})
    assert s.max_pending_body_bytes == 100 << 20


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("VIOLET_MAX_HEADER_BYTES", "100"),
        ("VIOLET_HEADER_TIMEOUT_SECONDS", "0"),
        ("VIOLET_BODY_TIMEOUT_SECONDS", "soon"),
        ("VIOLET_MAX_CONNECTIONS", "0"),
        ("VIOLET_SHUTDOWN_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_bounds_are_refused(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        Settings.from_env({"VIOLET_APP_SECRET": "x", key: value})
