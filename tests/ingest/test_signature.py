from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from ingest.signature import SignatureError, Verifier, sign

SECRET = "app-secret"
BODY = json.dumps({"id": 7, "status": "ACCEPTED", "total": 1099}, separators=(",", ":")).encode()


def reason(verifier: Verifier, body: bytes, header: str | bytes | None) -> str:
    with pytest.raises(SignatureError) as err:
        verifier.verify(body, header)
    return err.value.reason


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    expected = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, BODY) == expected


def test_valid_signature_returns_the_secret_id() -> None:
    assert Verifier([("primary", SECRET)]).verify(BODY, sign(SECRET, BODY)) == "primary"


def test_header_as_bytes_and_with_surrounding_whitespace() -> None:
    v = Verifier([("primary", SECRET)])
    assert v.verify(BODY, f"  {sign(SECRET, BODY)} ".encode()) == "primary"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature(header: str | None) -> None:
    assert reason(Verifier([("primary", SECRET)]), BODY, header) == "missing_signature"


@pytest.mark.parametrize("header", ["not base64!!", "YWJj", "\u00e9t\u00e9", b"\xff\xfe"])
def test_malformed_signature(header: str | bytes) -> None:
    assert reason(Verifier([("primary", SECRET)]), BODY, header) == "malformed_signature"


def test_wrong_secret() -> None:
    assert reason(Verifier([("primary", SECRET)]), BODY, sign("other", BODY)) == "bad_signature"


def test_body_changed_by_one_byte() -> None:
    tampered = bytearray(BODY)
    tampered[10] ^= 0x01
    header = sign(SECRET, BODY)
    assert reason(Verifier([("primary", SECRET)]), bytes(tampered), header) == "bad_signature"


def test_whitespace_reserialised_json_does_not_verify() -> None:
    # Same JSON value, different bytes: the signature covers bytes, not meaning.
    reserialised = json.dumps(json.loads(BODY), indent=2).encode()
    assert json.loads(reserialised) == json.loads(BODY)
    assert reason(Verifier([("primary", SECRET)]), reserialised, sign(SECRET, BODY)) == (
        "bad_signature"
    )


def test_rotated_secret_is_accepted_and_named() -> None:
    v = Verifier([("primary", "new-secret"), ("old", SECRET)])
    assert v.verify(BODY, sign(SECRET, BODY)) == "old"
    assert v.verify(BODY, sign("new-secret", BODY)) == "primary"


def test_empty_body_can_be_signed() -> None:
    assert Verifier([("primary", SECRET)]).verify(b"", sign(SECRET, b"")) == "primary"


def test_a_verifier_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        Verifier([])
