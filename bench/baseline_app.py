"""Baseline for bench/ingest: a bare Starlette app that reads the body and verifies the HMAC,
and stores nothing. Our service must reach a given fraction of its throughput."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_KEY = os.environ["VIOLET_APP_SECRET"].encode()


async def receive(request: Request) -> Response:
    body = await request.body()
    given = request.headers.get("x-violet-hmac", "")
    expected = base64.b64encode(hmac.new(_KEY, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(given, expected):
        return Response(b'{"error":"bad_signature"}', 401, media_type="application/json")
    return Response(b'{"status":"ok"}', 200, media_type="application/json")


app = Starlette(routes=[Route("/webhooks/violet", receive, methods=["POST"])])
