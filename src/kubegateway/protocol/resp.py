"""RESP2 request encoding.

The gateway talks RESP2 to valkey with raw bytes, so replies keep their exact
bytes and integers keep their exact digits. Replies are parsed by hiredis (see
``kubegateway.gateway.connections``); this module only builds requests.
"""

from __future__ import annotations

from collections.abc import Sequence

Command = Sequence[bytes]


def encode_command(command: Command) -> bytes:
    """Encode one command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        parts.append(b"$%d\r\n" % len(argument))
        parts.append(argument)
        parts.append(b"\r\n")
    return b"".join(parts)


def encode_commands(commands: Sequence[Command]) -> bytes:
    return b"".join(encode_command(command) for command in commands)
