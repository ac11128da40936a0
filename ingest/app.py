"""The ingest web service: `create_app(settings)` builds the Starlette application.

POST /webhooks/violet  verify the raw body, make it durable, answer 200 (or 401/408/413/503)
GET  /healthz          the process is alive
GET  /readyz           the log is writable and the disk has room
GET  /metrics          Prometheus text format

The bodies held in memory by all requests of a process share one budget,
VIOLET_MAX_PENDING_BODY_BYTES (503 `overloaded` past it). The other bounds on unverified work
(head size, head and body deadlines, connections) are the protocol's: `ingest.protocol`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict, cast

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ingest.limits import BODY_TIMED_OUT, BodyBudget, Limits
from ingest.metrics import CONTENT_TYPE, Metrics
from ingest.records import header_blob
from ingest.settings import Settings
from ingest.signature import HEADER as SIGNATURE_HEADER
from ingest.signature import SignatureError, Verifier
from ingest.store import Store, StoreConfig, StoreUnavailable

log = logging.getLogger("ingest.app")
WEBHOOK_PATH = "/webhooks/violet"
_JSON = "application/json"
_encode_json = json.JSONEncoder(separators=(",", ":")).encode


class State(TypedDict):
    settings: Settings
    store: Store
    metrics: Metrics
    verifier: Verifier
    redact: frozenset[bytes]
    limits: Limits
    budget: BodyBudget


def _state(request: Request) -> State:
    # Starlette copies the lifespan's state into every request scope.
    return cast(State, request.scope["state"])


class _TooLarge(Exception):
    pass


class _Overloaded(Exception):
    pass


_CLOSE = {"Connection": "close"}  # for answers given before the body was read to its end


def _json(
    status: int, payload: dict[str, object], headers: dict[str, str] | None = None
) -> Response:
    return Response(_encode_json(payload), status, headers=headers, media_type=_JSON)


def _clip(value: str | None) -> str | None:
    return None if value is None else value[:128]


async def _read_body(request: Request, limit: int, budget: BodyBudget) -> tuple[bytes, int]:
    """The body, and how many bytes of `budget` it holds (the caller gives them back)."""
    declared = request.headers.get("content-length")
    held = 0
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            raise _TooLarge
        # Taken for the whole body at once, so a refusal comes before any of it is read.
        if not budget.take(int(declared)):
            raise _Overloaded
        held = int(declared)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            if size > held:
                if not budget.take(size - held):
                    raise _Overloaded
                held = size
            chunks.append(chunk)
    except BaseException:
        budget.give(held)
        raise
    return b"".join(chunks), held


def _reject(
    request: Request,
    status: int,
    reason: str,
    message: str,
    cause: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    state = _state(request)
    state["metrics"].rejected.labels(reason).inc()
    client = request.client.host if request.client else None
    log.warning(
        "delivery rejected",
        extra={
            "fields": {
                "event": "delivery_rejected",
                "status": status,
                "reason": reason,
                "client": client,
                "topic": _clip(request.headers.get("x-violet-topic")),
                "delivery_id": _clip(request.headers.get("x-violet-event-id")),
            }
        },
    )
    payload: dict[str, object] = {"error": reason, "message": message}
    if cause is not None:
        payload["cause"] = cause
    return _json(status, payload, headers=headers)


async def receive_webhook(request: Request) -> Response:
    state = _state(request)
    settings = state["settings"]
    budget = state["budget"]
    try:
        body, held = await _read_body(request, settings.max_body_bytes, budget)
    except _TooLarge:
        return _reject(
            request,
            413,
            "too_large",
            f"body is larger than the limit of {settings.max_body_bytes} bytes",
            headers=_CLOSE,
        )
    except _Overloaded:
        return _reject(
            request,
            503,
            "overloaded",
            "too many request bodies are being received at once; retry later",
            headers={"Retry-After": str(settings.retry_after_seconds), **_CLOSE},
        )
    except ClientDisconnect:
        if request.scope.get(BODY_TIMED_OUT):
            # The protocol answered 408 and closed; this answer goes nowhere.
            return Response(status_code=408)
        return _reject(request, 400, "client_disconnected", "the client went away mid-body")
    try:
        try:
            secret_id = state["verifier"].verify(body, request.headers.get(SIGNATURE_HEADER))
        except SignatureError as exc:
            return _reject(request, 401, exc.reason, exc.message)
        headers = header_blob(request.scope["headers"], state["redact"])
        try:
            sequence = await state["store"].append(headers, body, secret_id.encode())
        except StoreUnavailable as exc:
            return _reject(
                request,
                503,
                "store_unavailable",
                f"the delivery could not be stored ({exc.problem.reason}); retry later",
                cause=exc.problem.cause,
                headers={"Retry-After": str(settings.retry_after_seconds)},
            )
    finally:
        budget.give(held)
    return Response(b'{"status":"stored","sequence":%d}' % sequence, 200, media_type=_JSON)


async def healthz(request: Request) -> Response:
    return _json(200, {"status": "ok", "pid": os.getpid()})


async def readyz(request: Request) -> Response:
    state = _state(request)
    problem = await state["store"].check_ready()
    if problem is not None:
        return _json(503, {"status": "not_ready", "reason": problem.reason, "cause": problem.cause})
    return _json(200, {"status": "ready", "instance": state["store"].instance})


async def metrics_endpoint(request: Request) -> Response:
    state = _state(request)
    return Response(state["metrics"].render(), media_type=CONTENT_TYPE)


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        metrics = Metrics()
        metrics.forget_dead_processes()
        store = Store(
            StoreConfig(
                wal_dir=settings.wal_dir,
                raw_dir=settings.raw_dir,
                instance_name=settings.instance_name,
                seal_interval_seconds=settings.seal_interval_seconds,
                seal_max_bytes=settings.seal_max_bytes,
                seal_max_records=settings.seal_max_records,
                min_free_bytes=settings.min_free_bytes,
            ),
            metrics,
        )
        await store.start()
        try:
            yield State(
                settings=settings,
                store=store,
                metrics=metrics,
                verifier=Verifier((sid, s.reveal()) for sid, s in settings.secrets),
                redact=frozenset(h.encode() for h in settings.redact_headers),
                limits=Limits.for_process(settings, metrics),
                budget=BodyBudget(settings.max_pending_body_bytes),
            )
        finally:
            await store.close()
            metrics.process_exited()

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive_webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """Factory for uvicorn workers: settings come from the environment the CLI checked."""
    return create_app(Settings.from_env(os.environ))
