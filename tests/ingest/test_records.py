from __future__ import annotations

import json

from ingest.records import REDACTED, header_fields


def test_header_fields_pick_ids_and_keep_the_rest_as_json() -> None:
    f = header_fields(
        [
            (b"host", b"example"),
            (b"content-length", b"12"),
            (b"x-violet-topic", b"ORDER_SHIPPED"),
            (b"x-violet-event-id", b"evt-9"),
            (b"x-violet-event-id-source", b"evt-1"),
            (b"x-violet-webhook-id", b"wh"),
            (b"x-violet-order-id", b"10"),
            (b"x-violet-bag-id", b"20"),
            (b"x-shared-token", b"s3cr3t"),
            (b"x-tag", b"a"),
            (b"x-tag", b"b"),
        ],
        frozenset({b"x-shared-token"}),
    )
    assert f[:6] == ("evt-9", "evt-1", "ORDER_SHIPPED", "wh", "10", "20")
    assert json.loads(f.headers_json) == {
        "x-violet-topic": "ORDER_SHIPPED",
        "x-violet-event-id": "evt-9",
        "x-violet-event-id-source": "evt-1",
        "x-violet-webhook-id": "wh",
        "x-violet-order-id": "10",
        "x-violet-bag-id": "20",
        "x-shared-token": REDACTED,
        "x-tag": "a, b",
    }


def test_bytes_that_are_not_utf8_stay_visible() -> None:
    f = header_fields([(b"x-violet-event-id", b"evt-\xff\xfe"), (b"x-odd", b"caf\xe9")])
    assert f.delivery_id == "evt-\\xff\\xfe"
    assert json.loads(f.headers_json)["x-odd"] == "caf\\xe9"


def test_empty_id_headers_count_as_absent() -> None:
    f = header_fields([(b"x-violet-event-id", b""), (b"x-violet-topic", b"")])
    assert f.delivery_id is None
    assert f.topic is None


def test_authorization_is_redacted_by_default() -> None:
    f = header_fields([(b"authorization", b"Bearer abc"), (b"cookie", b"s=1")])
    assert "abc" not in f.headers_json
    assert json.loads(f.headers_json) == {"authorization": REDACTED, "cookie": REDACTED}
