"""Settings of the ingest service, read once from the environment into a typed object."""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.records import DEFAULT_REDACTED_HEADERS
from warehouse_files import layout

PRIMARY_SECRET_ENV = "VIOLET_APP_SECRET"  # noqa: S105 - the name of the variable
_EXTRA_SECRET = re.compile(r"^VIOLET_APP_SECRET_([A-Z0-9_]+)$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


class Secret:
    """A secret value that never prints."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    secrets: tuple[tuple[str, Secret], ...]
    data_dir: Path = Path("data")
    max_body_bytes: int = 1024 * 1024
    seal_interval_seconds: float = 30.0
    seal_max_bytes: int = 64 * 1024 * 1024
    seal_max_records: int = 100_000
    min_free_bytes: int = 512 * 1024 * 1024
    retry_after_seconds: int = 30
    redact_headers: frozenset[str] = field(default=DEFAULT_REDACTED_HEADERS)
    instance_name: str = field(default_factory=lambda: _safe_name(socket.gethostname()))
    log_level: str = "INFO"
    access_log: bool = False
    # Bounds on what a client can make the service do before its delivery is verified.
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 15.0
    keepalive_timeout_seconds: int = 5
    max_connections: int = 1000
    max_pending_body_bytes: int = 64 * 1024 * 1024
    shutdown_timeout_seconds: int = 5

    @property
    def wal_dir(self) -> Path:
        return layout.wal_dir(self.data_dir)

    @property
    def raw_dir(self) -> Path:
        return layout.raw_dir(self.data_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        primary = env.get(PRIMARY_SECRET_ENV, "")
        secrets: list[tuple[str, Secret]] = []
        if primary:
            secrets.append(("primary", Secret(primary)))
        for key in sorted(env):
            m = _EXTRA_SECRET.match(key)
            if m and env[key]:
                secrets.append((m[1].lower(), Secret(env[key])))
        if not secrets:
            raise SettingsError(
                f"no app secret configured: set {PRIMARY_SECRET_ENV} to your Violet app secret "
                f"(and {PRIMARY_SECRET_ENV}_<NAME> for extra secrets during a rotation)"
            )
        extra_redact = {
            h.strip().lower() for h in env.get("VIOLET_REDACT_HEADERS", "").split(",") if h.strip()
        }
        defaults = cls(secrets=())
        max_body = _int(env, "VIOLET_MAX_BODY_BYTES", defaults.max_body_bytes, 1)
        max_pending = _int(
            env, "VIOLET_MAX_PENDING_BODY_BYTES", max(defaults.max_pending_body_bytes, max_body), 1
        )
        if max_pending < max_body:
            raise SettingsError(
                f"VIOLET_MAX_PENDING_BODY_BYTES ({max_pending}) must be at least "
                f"VIOLET_MAX_BODY_BYTES ({max_body}), or no body of the largest size could be read"
            )
        return cls(
            secrets=tuple(secrets),
            data_dir=Path(env.get("VIOLET_DATA_DIR", "") or defaults.data_dir),
            max_body_bytes=max_body,
            seal_interval_seconds=_float(
                env, "VIOLET_SEAL_INTERVAL_SECONDS", defaults.seal_interval_seconds
            ),
            seal_max_bytes=_int(env, "VIOLET_SEAL_MAX_BYTES", defaults.seal_max_bytes, 1),
            seal_max_records=_int(env, "VIOLET_SEAL_MAX_RECORDS", defaults.seal_max_records, 1),
            min_free_bytes=_int(env, "VIOLET_MIN_FREE_BYTES", defaults.min_free_bytes, 0),
            retry_after_seconds=_int(
                env, "VIOLET_RETRY_AFTER_SECONDS", defaults.retry_after_seconds, 1
            ),
            redact_headers=DEFAULT_REDACTED_HEADERS | frozenset(extra_redact),
            instance_name=_safe_name(env.get("VIOLET_INSTANCE_NAME", "") or defaults.instance_name),
            log_level=_choice(
                env, "VIOLET_LOG_LEVEL", defaults.log_level, {"DEBUG", "INFO", "WARNING", "ERROR"}
            ),
            access_log=_bool(env, "VIOLET_ACCESS_LOG", defaults.access_log),
            max_header_bytes=_int(env, "VIOLET_MAX_HEADER_BYTES", defaults.max_header_bytes, 1024),
            header_timeout_seconds=_float(
                env, "VIOLET_HEADER_TIMEOUT_SECONDS", defaults.header_timeout_seconds
            ),
            body_timeout_seconds=_float(
                env, "VIOLET_BODY_TIMEOUT_SECONDS", defaults.body_timeout_seconds
            ),
            keepalive_timeout_seconds=_int(
                env, "VIOLET_KEEPALIVE_TIMEOUT_SECONDS", defaults.keepalive_timeout_seconds, 1
            ),
            max_connections=_int(env, "VIOLET_MAX_CONNECTIONS", defaults.max_connections, 1),
            max_pending_body_bytes=max_pending,
            shutdown_timeout_seconds=_int(
                env, "VIOLET_SHUTDOWN_TIMEOUT_SECONDS", defaults.shutdown_timeout_seconds, 1
            ),
        )


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:40]
    return cleaned or "ingest"


def _int(env: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{key} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{key} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{key} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"{key} must be greater than 0, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{key} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], key: str, default: str, allowed: set[str]) -> str:
    raw = env.get(key, "").strip().upper()
    if not raw:
        return default
    if raw not in allowed:
        raise SettingsError(f"{key} must be one of {sorted(allowed)}, got {raw!r}")
    return raw
