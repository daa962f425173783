"""The Upstash Redis REST API: request bodies in, JSON envelopes out.

Requests come in three shapes (a JSON array, a JSON array of arrays, or path
segments) and all become lists of byte-string commands. Replies from hiredis
(bytes, int, None, lists, error objects) become ``{"result": ...}`` or
``{"error": ...}`` with RESP2 shapes, optionally with every string base64
encoded (``Upstash-Encoding: base64``).

This module does no I/O, so every rule here is tested without a server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

import orjson

from kubegateway.errors import RequestError
from kubegateway.protocol.resp import Command

ReplyValue = object


class _InexactNumber(Exception):
    """orjson parsed a number as a float, which may have rounded it."""


def _argument(value: object, position: int) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bool):
        # JSON spelling, the way the Upstash clients stringify booleans.
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        raise _InexactNumber
    raise RequestError(
        f"argument {position} must be a string, number or boolean, "
        f"not {_json_type(value)}"
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _command(value: object, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise RequestError(
            f"{where} must be a JSON array of strings such as "
            f'["SET","key","value"], not {_json_type(value)}'
        )
    if not value:
        raise RequestError(f"{where} is an empty array; it needs a command name")
    return [_argument(item, index) for index, item in enumerate(value)]


def _load(body: bytes) -> object:
    if not body:
        raise RequestError("the request body is empty; send a JSON array")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(f"the request body is not valid JSON: {error}") from error


def _load_exact(body: bytes) -> object:
    """Parse again keeping every number's literal text.

    orjson turns decimals and integers beyond 64 bits into floats, which would
    change the digits sent to the server (``1.10`` or ``2**64``), so requests
    holding such numbers take this slower path.
    """
    return json.loads(
        body, parse_float=str, parse_int=str, parse_constant=_reject_constant
    )


def _reject_constant(name: str) -> object:
    raise RequestError(f"the request body contains {name}, which is not valid JSON")


def parse_single(body: bytes) -> list[bytes]:
    """Parse ``["SET","k","v"]`` into one command."""
    try:
        return _command(_load(body), "the request body")
    except _InexactNumber:
        return _command(_load_exact(body), "the request body")


def parse_many(body: bytes) -> list[list[bytes]]:
    """Parse ``[["SET","k","v"],["GET","k"]]`` for pipelines and transactions."""
    try:
        return _many(_load(body))
    except _InexactNumber:
        return _many(_load_exact(body))


def _many(value: object) -> list[list[bytes]]:
    if not isinstance(value, list):
        raise RequestError(
            "the request body must be a JSON array of commands such as "
            f'[["SET","k","v"],["GET","k"]], not {_json_type(value)}'
        )
    if not value:
        raise RequestError(
            "the request body is an empty array; send one command or more"
        )
    return [_command(item, f"command {index}") for index, item in enumerate(value)]


def parse_path(segments: Sequence[bytes], body: bytes, query: bytes) -> list[bytes]:
    """Parse a path-style request: ``/set/foo/bar?EX=100`` plus an optional body.

    The raw path is split on ``/`` first and each segment is then
    percent-decoded, so an encoded ``%2F`` stays inside its argument. The body,
    when present, is one more argument, followed by the query parameters as
    ``key, value`` pairs, except ``_token``, which is authentication.
    """
    command = [unquote_to_bytes(segment) for segment in segments]
    if body:
        command.append(body)
    for key, value in query_pairs(query):
        if key != b"_token":
            command.append(key)
            command.append(value)
    return command


def query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    if not query:
        return pairs
    for part in query.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        pairs.append(
            (
                unquote_to_bytes(key.replace(b"+", b" ")),
                unquote_to_bytes(value.replace(b"+", b" ")),
            )
        )
    return pairs


def _to_text(value: bytes) -> str:
    # Invalid UTF-8 becomes U+FFFD; orjson writes astral characters as raw UTF-8.
    return value.decode("utf-8", "replace")


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def render_value(value: ReplyValue, encode: bool) -> object:
    """Convert one hiredis reply value to its JSON form (errors become text)."""
    if isinstance(value, bytes):
        return _to_base64(value) if encode else _to_text(value)
    if isinstance(value, list):
        return [render_value(item, encode) for item in value]
    if isinstance(value, Exception):
        return str(value)
    return value


def render_result(value: ReplyValue, encode: bool) -> tuple[int, bytes]:
    """Render one command's reply as ``(status, body)``."""
    if isinstance(value, Exception):
        return 400, orjson.dumps({"error": str(value)})
    return 200, orjson.dumps({"result": render_value(value, encode)})


def render_items(values: Sequence[ReplyValue], encode: bool) -> list[dict[str, object]]:
    """Render pipeline items: each has only ``result`` or only ``error``."""
    items: list[dict[str, object]] = []
    for value in values:
        if isinstance(value, Exception):
            items.append({"error": str(value)})
        else:
            items.append({"result": render_value(value, encode)})
    return items


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


def is_command(command: Command, name: bytes) -> bool:
    return command[0].lower() == name


class CommandRejected(Exception):
    """A command the gateway refused to send; rendered like a server error."""
