"""Classifying commands from the server's COMMAND reply."""

from __future__ import annotations

import pytest

from kubegateway.protocol.commands import (
    ACL_RULES_READ_ONLY,
    ACL_RULES_READ_WRITE,
    CommandTable,
    Verdict,
    is_blocking_call,
)


def _entry(
    name: str,
    flags: list[str],
    categories: list[str],
    subcommands: list[list[object]] | None = None,
) -> list[object]:
    """Build one entry shaped like the RESP2 reply of ``COMMAND``."""
    return [
        name.encode(),
        -1,
        [flag.encode() for flag in flags],
        1,
        1,
        1,
        [category.encode() for category in categories],
        [],
        [],
        subcommands or [],
    ]


TABLE = CommandTable.from_command_reply(
    [
        _entry("get", ["readonly", "fast"], ["@read", "@string", "@fast"]),
        _entry("set", ["write", "denyoom"], ["@write", "@string", "@slow"]),
        _entry("keys", ["readonly"], ["@keyspace", "@read", "@slow", "@dangerous"]),
        _entry("scan", ["readonly"], ["@keyspace", "@read", "@slow"]),
        _entry("flushall", ["write"], ["@keyspace", "@write", "@slow", "@dangerous"]),
        _entry("debug", ["admin", "noscript"], ["@admin", "@slow", "@dangerous"]),
        _entry(
            "blpop", ["write", "blocking"], ["@write", "@list", "@slow", "@blocking"]
        ),
        _entry(
            "xread",
            ["readonly", "blocking"],
            ["@read", "@stream", "@slow", "@blocking"],
        ),
        _entry("multi", ["noscript", "fast"], ["@fast", "@transaction"]),
        _entry("select", ["loading", "fast"], ["@fast", "@connection"]),
        _entry("ping", ["fast"], ["@fast", "@connection"]),
        _entry("subscribe", ["pubsub", "noscript"], ["@pubsub", "@slow"]),
        _entry("publish", ["pubsub", "fast"], ["@pubsub", "@fast"]),
        _entry(
            "config",
            [],
            ["@slow"],
            [
                _entry(
                    "config|get",
                    ["admin", "noscript"],
                    ["@admin", "@slow", "@dangerous"],
                ),
            ],
        ),
        _entry(
            "object",
            [],
            ["@slow"],
            [_entry("object|encoding", ["readonly"], ["@keyspace", "@read", "@slow"])],
        ),
    ]
)


def _verdict(*command: bytes) -> Verdict | None:
    rule = TABLE.lookup(list(command))
    return None if rule is None else rule.verdict


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ((b"GET", b"k"), Verdict.ALLOWED),
        ((b"set", b"k", b"v"), Verdict.ALLOWED),
        ((b"KEYS", b"*"), Verdict.ALLOWED),
        ((b"FLUSHALL",), Verdict.ALLOWED),
        ((b"PING",), Verdict.ALLOWED),
        ((b"PUBLISH", b"c", b"m"), Verdict.ALLOWED),
        ((b"DEBUG", b"SLEEP", b"1"), Verdict.FORBIDDEN),
        ((b"CONFIG", b"GET", b"x"), Verdict.FORBIDDEN),
        ((b"BLPOP", b"l", b"1"), Verdict.UNSUPPORTED),
        ((b"MULTI",), Verdict.UNSUPPORTED),
        ((b"SELECT", b"1"), Verdict.UNSUPPORTED),
        ((b"SUBSCRIBE", b"c"), Verdict.UNSUPPORTED),
        ((b"OBJECT", b"ENCODING", b"k"), Verdict.ALLOWED),
    ],
    ids=lambda value: (
        value if isinstance(value, Verdict) else b" ".join(value).decode()
    ),
)
def test_verdict(command: tuple[bytes, ...], verdict: Verdict) -> None:
    assert _verdict(*command) == verdict


def test_xread_is_allowed_unless_blocking() -> None:
    assert _verdict(b"XREAD", b"STREAMS", b"s", b"0") == Verdict.ALLOWED


def test_unknown_command_has_no_rule() -> None:
    assert TABLE.lookup([b"NOSUCH"]) is None


def test_unknown_subcommand_has_no_rule() -> None:
    assert TABLE.lookup([b"CONFIG", b"NOSUCH"]) is None


def test_lookup_is_case_insensitive() -> None:
    assert TABLE.lookup([b"GeT", b"k"]) is TABLE.lookup([b"get", b"k"])


@pytest.mark.parametrize(
    ("name", "read_only"),
    [("get", True), ("set", False), ("keys", False), ("scan", False), ("ping", True)],
)
def test_read_only_flag(name: str, read_only: bool) -> None:
    rule = TABLE.lookup([name.encode()])
    assert rule is not None
    assert rule.info.read_only is read_only


@pytest.mark.parametrize(
    ("name", "writes"), [("get", False), ("set", True), ("flushall", True)]
)
def test_writes_flag(name: str, writes: bool) -> None:
    rule = TABLE.lookup([name.encode()])
    assert rule is not None
    assert rule.info.writes is writes


@pytest.mark.parametrize(
    ("command", "blocking"),
    [
        ([b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"], True),
        ([b"XREAD", b"block", b"0", b"STREAMS", b"s", b"$"], True),
        ([b"XREAD", b"COUNT", b"1", b"STREAMS", b"s", b"0"], False),
        ([b"XREAD", b"STREAMS", b"block", b"0"], False),
        ([b"XREAD", b"COUNT", b"1", b"STREAMS", b"block", b"0"], False),
        ([b"XREADGROUP", b"GROUP", b"block", b"c", b"STREAMS", b"s", b">"], False),
        ([b"XREADGROUP", b"GROUP", b"g", b"block", b"STREAMS", b"s", b">"], False),
        ([b"XREADGROUP", b"GROUP", b"g", b"c", b"NOACK", b"BLOCK", b"5"], True),
    ],
    ids=lambda value: (
        b" ".join(value).decode() if isinstance(value, list) else str(value)
    ),
)
def test_is_blocking_call(command: list[bytes], blocking: bool) -> None:
    assert is_blocking_call(command) is blocking


def test_read_write_acl_removes_admin_and_dangerous() -> None:
    assert "-@admin" in ACL_RULES_READ_WRITE.split()
    assert "-@dangerous" in ACL_RULES_READ_WRITE.split()


def test_read_only_acl_starts_from_nothing() -> None:
    rules = ACL_RULES_READ_ONLY.split()
    assert "-@all" in rules
    assert "-keys" in rules
    assert "-scan" in rules
