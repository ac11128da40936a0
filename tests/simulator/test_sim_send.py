"""`send`: loopback only by default, retries what is not acknowledged, expects 401 for forgeries."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from ingest.signature import SignatureError, Verifier
from simulator import send
from simulator.__main__ import main
from simulator.deliveries import Delivery

URL = "http://127.0.0.1:8080/webhooks/violet"


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]:9000/x", "https://LOCALHOST/"],
)
def test_loopback_urls_are_accepted(url: str) -> None:
    send.check_url(url)


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "http://10.0.0.5:8080/x", "http://127.0.0.2/x"]
)
def test_other_hosts_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(send.RemoteHostRefused, match="allow-remote"):
        send.check_url(url)
    send.check_url(url, allow_remote=True)


def test_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        send.check_url("ftp://127.0.0.1/x")


def test_the_cli_refuses_a_remote_host_before_generating_anything() -> None:
    code = main(["send", "--url", "http://example.com/hook", "--secret", "s", "--orders", "10"])
    assert code == 2


def _service(secret: str, flaky_every: int = 0) -> tuple[httpx.MockTransport, Counter[str]]:
    """A stand-in for the ingest service: 401 for bad signatures, 503 now and then."""
    verifier = Verifier([("app", secret)])
    calls: Counter[str] = Counter()

    def handle(request: httpx.Request) -> httpx.Response:
        calls["requests"] += 1
        try:
            verifier.verify(request.content, request.headers.get("x-violet-hmac"))
        except SignatureError:
            return httpx.Response(401)
        key = request.headers.get("x-violet-event-id", "") + request.headers["x-violet-hmac"]
        calls[key] += 1
        if flaky_every and calls["requests"] % flaky_every == 0 and calls[key] == 1:
            return httpx.Response(503)
        return httpx.Response(200)

    return httpx.MockTransport(handle), calls


def test_every_genuine_delivery_is_acknowledged_despite_503s(
    small_deliveries: list[Delivery], secret: str
) -> None:
    transport, calls = _service(secret, flaky_every=7)
    summary = send.send_stream(
        small_deliveries, URL, transport=transport, backoff_base_s=0.001, concurrency=8
    )
    forged = sum(1 for d in small_deliveries if not d.stored)
    assert forged > 0
    assert summary.ok
    assert summary.sent == len(small_deliveries)
    assert summary.acknowledged == len(small_deliveries) - forged
    assert summary.expected_401 == forged
    assert summary.failed == summary.bad_signature_accepted == 0
    assert summary.retries == summary.by_status["503"] > 0
    assert summary.attempts == calls["requests"] == len(small_deliveries) + summary.retries
    assert summary.as_dict()["by_status"]["401"] == forged


def test_deliveries_never_acknowledged_are_reported(
    small_deliveries: list[Delivery],
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sample = [d for d in small_deliveries if d.stored][:20]
    summary = send.send_stream(
        sample, URL, transport=httpx.MockTransport(down), max_attempts=3, backoff_base_s=0.001
    )
    assert not summary.ok
    assert summary.failed == 20
    assert summary.attempts == 60
    assert summary.by_status["error"] == 60


def test_a_service_accepting_forgeries_is_a_failure(small_deliveries: list[Delivery]) -> None:
    forged = [d for d in small_deliveries if not d.stored]
    summary = send.send_stream(
        forged, URL, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    assert summary.bad_signature_accepted == len(forged) > 0
    assert summary.retries == 0
    assert not summary.ok
