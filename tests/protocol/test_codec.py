"""Line bytes (rollout-format 4): envelope, escaping, numbers and timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadloom.protocol.codec import (
    LineError,
    decode_json,
    decode_line,
    encode_json,
    encode_line,
    format_rfc3339_nanos,
    format_rfc3339_seconds,
    format_timestamp,
    line_from_object,
    parse_timestamp_ms,
    parse_timestamp_precise,
)
from threadloom.protocol.rollout import RolloutLine

SPEC_LINES = [
    # 4.2 legacy, paginated and response-item-with-metadata envelopes
    b'{"timestamp":"2026-11-21T23:01:49.328Z","type":"event_msg","payload":{"type":"task_complete",'
    b'"turn_id":"t1","last_agent_message":null}}',
    b'{"timestamp":"2026-11-21T23:03:42.265Z","ordinal":2,"type":"event_msg","payload":{"type":'
    b'"item_completed","thread_id":"019a0000-0000-7000-9000-000000000010","turn_id":"t","item":'
    b'{"type":"Plan","id":"p","text":"t"},"completed_at_ms":1795302222265}}',
    b'{"timestamp":"2026-11-21T23:01:13.050Z","type":"response_item","payload":{"type":"message",'
    b'"id":"msg_01a2","role":"user","content":[{"type":"input_text","text":"hi"}]},"metadata":'
    b'{"history_sequence":7,"sampled_through_sequence":0,"client_authored":false}}',
]

# serde_json's escapes: the short forms for \b \f \n \r \t, \u00XX for other control characters,
# everything else (DEL, U+2028, "/", non-ASCII) raw.
ESCAPES = [
    ("\x07", b'"\\u0007"'),
    ("\x00", b'"\\u0000"'),
    ("\x1f", b'"\\u001f"'),
    ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
    ('"\\', b'"\\"\\\\"'),
    ("\x7f", b'"\x7f"'),
    ("\u2028\u2029", '"\u2028\u2029"'.encode()),
    ("a/b", b'"a/b"'),
    ("héllo ✓ 𝄞", '"héllo ✓ 𝄞"'.encode()),
]


def _python_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("raw", SPEC_LINES)
def test_spec_envelope_lines_reencode_to_the_same_bytes(raw: bytes) -> None:
    assert encode_line(decode_line(raw)) == raw


def test_envelope_keys_are_written_in_codex_order() -> None:
    line = RolloutLine(
        timestamp="2026-11-21T23:01:13.050Z",
        type="response_item",
        payload={"type": "message"},
        ordinal=3,
        metadata={"history_sequence": 1},
    )

    assert encode_line(line) == (
        b'{"timestamp":"2026-11-21T23:01:13.050Z","ordinal":3,"type":"response_item",'
        b'"payload":{"type":"message"},"metadata":{"history_sequence":1}}'
    )


def test_absent_ordinal_and_metadata_are_not_written() -> None:
    raw = b'{"timestamp":"t","type":"x","payload":{}}'
    line = decode_line(raw)

    assert (line.ordinal, line.metadata) == (None, None)
    assert encode_line(line) == raw


def test_decoding_keeps_payload_key_order_and_unknown_members() -> None:
    raw = b'{"timestamp":"t","type":"event_msg","payload":{"z":1,"type":"x","a":{"y":2,"b":3}}}'

    line = decode_line(raw)

    assert list(line.payload) == ["z", "type", "a"]
    assert encode_line(line) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"timestamp":"t","type":"x"',
        b"[1,2]",
        b'{"type":"x","payload":{}}',
        b'{"timestamp":"t","payload":{}}',
        b'{"timestamp":"t","type":"x"}',
        b'{"timestamp":1,"type":"x","payload":{}}',
        b'{"timestamp":"t","ordinal":true,"type":"x","payload":{}}',
        b'{"timestamp":"t","ordinal":"1","type":"x","payload":{}}',
    ],
)
def test_lines_without_a_valid_envelope_are_refused(raw: bytes) -> None:
    with pytest.raises(LineError):
        decode_line(raw)


_members = st.dictionaries(
    st.sampled_from(["timestamp", "type", "payload", "ordinal", "metadata", "other"]),
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(_members)
def test_lines_decode_as_their_checked_envelope(members: dict[str, object]) -> None:
    raw = json.dumps(members).encode()
    try:
        expected: RolloutLine | str = line_from_object(decode_json(raw))
    except LineError as exc:
        expected = str(exc)
    try:
        got: RolloutLine | str = decode_line(raw)
    except LineError as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize(("text", "expected"), ESCAPES)
def test_strings_use_serde_json_escapes(text: str, expected: bytes) -> None:
    assert encode_json(text) == expected
    assert decode_json(expected) == text


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_string_encoding_equals_python_json_without_ascii_escaping(text: str) -> None:
    assert encode_json(text) == _python_json(text)


_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@given(_json_values)
def test_nested_values_encode_like_python_json_and_decode_back(value: Any) -> None:
    encoded = encode_json(value)

    assert encoded == _python_json(value)
    assert decode_json(encoded) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1795302073.0183914, b"1795302073.0183914"), (1.0, b"1.0"), (0.5, b"0.5"), (-0.0, b"-0.0")],
)
def test_floats_use_the_shortest_round_trip_digits(value: float, expected: bytes) -> None:
    assert encode_json(value) == expected
    assert decode_json(expected) == value


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1795302108050, "2026-11-21T23:01:48.050Z"),
        (1740823200007, "2025-03-01T10:00:00.007Z"),
        (253402300799999, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_line_timestamps_have_three_fraction_digits_and_a_z(ms: int, expected: str) -> None:
    assert format_timestamp(ms) == expected
    assert parse_timestamp_ms(expected) == ms


@given(st.integers(0, 253402300799999))
def test_line_timestamps_round_trip_through_parsing(ms: int) -> None:
    text = format_timestamp(ms)

    assert len(text) == 24
    assert parse_timestamp_ms(text) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2025-03-01T10:00:00Z", 1740823200000),
        ("2025-03-01T10:00:00.5Z", 1740823200500),
        ("2025-03-01T10:00:00.123456789Z", 1740823200123),
        ("2025-03-01T11:30:00+01:30", 1740823200000),
        ("2025-03-01T08:00:00-02:00", 1740823200000),
        ("2025-03-01t10:00:00z", 1740823200000),
    ],
)
def test_any_rfc3339_timestamp_is_read(text: str, ms: int) -> None:
    assert parse_timestamp_ms(text) == ms


@pytest.mark.parametrize(
    "text", ["", "2025-03-01", "2025-03-01T10:00:00", "2025-02-30T10:00:00Z", "yesterday"]
)
def test_strings_that_are_not_rfc3339_give_no_timestamp(text: str) -> None:
    assert parse_timestamp_ms(text) is None


def test_precise_parsing_keeps_nanoseconds() -> None:
    assert parse_timestamp_precise("2025-03-01T10:00:00.123456789Z") == (1740823200, 123456789)


def test_second_and_nanosecond_formats_are_utc_rfc3339() -> None:
    seconds = int(datetime(2025, 3, 1, 10, tzinfo=UTC).timestamp())

    assert format_rfc3339_seconds(seconds) == "2025-03-01T10:00:00Z"
    assert format_rfc3339_nanos(seconds * 1_000_000_000 + 5) == "2025-03-01T10:00:00.000000005Z"
