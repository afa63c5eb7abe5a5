"""JSON-RPC framing: which incoming messages are requests, notifications, or ignored."""

from __future__ import annotations

import pytest

from threadloom.server import rpc


def nested_request(depth: int) -> bytes:
    """A request whose ``params.x`` nests ``depth`` arrays (the message nests depth + 2)."""
    return b'{"id":1,"method":"thread/list","params":{"x":' + b"[" * depth + b"]" * depth + b"}}"


def test_nesting_up_to_codexs_limit_is_a_request() -> None:
    """Codex 0.169.0 answers 125 nested arrays in params (depth 127) and ignores 126."""
    for data in (nested_request(125), nested_request(125).decode()):
        message = rpc.parse(data)
        assert isinstance(message, rpc.Request)
        assert message.id == 1
    assert rpc.parse(nested_request(126)) is None
    assert rpc.parse(nested_request(126).decode()) is None


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_nesting_past_the_interpreters_limit_is_ignored(depth: int) -> None:
    assert rpc.parse(nested_request(depth)) is None
    assert rpc.parse(b"[" * depth) is None


def test_brackets_inside_strings_do_not_count() -> None:
    data = b'{"id":2,"method":"thread/list","params":{"x":"' + b"[{" * 500 + b'"}}'
    message = rpc.parse(data)
    assert isinstance(message, rpc.Request)
    assert message.params == {"x": "[{" * 500}
    wide = b'{"id":3,"method":"m","params":[' + b"[1]," * 500 + b"[]]}"  # many, never deep
    assert isinstance(rpc.parse(wide), rpc.Request)


@pytest.mark.parametrize(
    "data",
    [
        b'{"id":1,"method":"thread/re\xffad"}',  # invalid UTF-8
        b'{"id":1,"method":"\\ud800"}',  # a lone surrogate
        b'{"id":1,"method":"x"}garbage',
        b'\xef\xbb\xbf{"id":1,"method":"x"}',  # a byte order mark
        b'{"id":null,"method":"x"}',
        b'{"id":1.5,"method":"x"}',
        b'{"id":true,"method":"x"}',
        b'{"id":9223372036854775808,"method":"x"}',  # past i64
        b'{"id":1,"method":5}',
        b'{"id":1}',
        b"[1]",
        b"",
    ],
)
def test_ignored_input(data: bytes) -> None:
    assert rpc.parse(data) is None


def test_requests_and_notifications() -> None:
    assert rpc.parse(b'{"id":"a","method":"m"}') == rpc.Request("a", "m", rpc.MISSING)
    assert rpc.parse(b'{"id":-9223372036854775808,"method":"m","params":null}') == rpc.Request(
        -(2**63), "m", None
    )
    assert rpc.parse('{"method":"initialized"}') == rpc.Notification("initialized", None)
