"""Violet's webhook signature: base64(HMAC-SHA256(app secret, raw body)).

Verification runs over the exact bytes received, before any parsing, and accepts any of several
configured secrets so that a secret can be rotated without refusing genuine deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

HEADER = "x-violet-hmac"
_DIGEST_SIZE = hashlib.sha256().digest_size


class SignatureError(Exception):
    """The request cannot be shown to come from Violet. `reason` is a short machine label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def sign(secret: str | bytes, body: bytes) -> str:
    """The value Violet puts in X-Violet-Hmac for `body`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


class Verifier:
    """Checks X-Violet-Hmac against every configured secret in constant time per secret."""

    def __init__(self, secrets: Iterable[tuple[str, str | bytes]]) -> None:
        # Keyed HMAC objects are prepared once; .copy() per request skips the key schedule.
        self._keyed: list[tuple[str, hmac.HMAC]] = [
            (secret_id, hmac.new(s.encode() if isinstance(s, str) else s, None, hashlib.sha256))
            for secret_id, s in secrets
        ]
        if not self._keyed:
            raise ValueError("a Verifier needs at least one secret")

    def verify(self, body: bytes, header: str | bytes | None) -> str:
        """Return the id of the secret that signed `body`, or raise SignatureError."""
        if header is None or not header.strip():
            raise SignatureError("missing_signature", "missing X-Violet-Hmac header")
        try:
            given = base64.b64decode(header.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(
                "malformed_signature", "X-Violet-Hmac is not valid base64"
            ) from None
        if len(given) != _DIGEST_SIZE:
            raise SignatureError(
                "malformed_signature", "X-Violet-Hmac is not a base64 HMAC-SHA256 digest"
            )
        matched: str | None = None
        for secret_id, keyed in self._keyed:
            mac = keyed.copy()
            mac.update(body)
            # Every secret is tried, so the time taken does not say which one matched.
            if hmac.compare_digest(mac.digest(), given) and matched is None:
                matched = secret_id
        if matched is None:
            raise SignatureError(
                "bad_signature", "X-Violet-Hmac does not match the body for any configured secret"
            )
        return matched
