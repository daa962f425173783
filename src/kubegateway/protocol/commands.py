"""Classification of Redis commands for tenants, from the server's own table.

The gateway asks the server for ``COMMAND`` once per server and derives from
the flags and ACL categories which commands a tenant may run, which a
read-only token may run, and which ones write (for the sync token). Nothing
here is a hand list of data commands, so new server commands are classified
by the same rules. The small explicit sets below are the exceptions to those
rules, each with its reason.

The same policy is expressed as ACL rules for the server users the gateway
logs in as (``ACL_RULES``), so the server rejects a command even if this
check had a bug.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Connection-scoped commands the Upstash REST API keeps.
_CONNECTION_ALLOWED = frozenset({"ping", "echo"})

# In @dangerous because they can be slow or wipe data, but they only touch the
# tenant's own instance, and the Upstash REST API offers them.
_DANGEROUS_ALLOWED = frozenset({"keys", "flushdb", "flushall", "sort", "sort_ro"})

# Only database 0 is served: switching or moving between databases would break
# the connections that requests share.
_DATABASE_SWITCHING = frozenset({"select", "swapdb", "move"})

# Subscriptions need a connection of their own, which a REST request cannot hold.
_SUBSCRIBE = frozenset(
    {
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "unsubscribe",
        "punsubscribe",
        "sunsubscribe",
    }
)

# @blocking commands that only block with a BLOCK argument.
_BLOCK_OPTIONAL = frozenset({"xread", "xreadgroup"})

# Stop a script or function of any client, so they are operator actions.
_SCRIPT_CONTROL = frozenset({"script|kill", "function|kill", "script|debug"})

# Read commands that enumerate the key space; read-only tokens may not use them.
_ENUMERATION = frozenset({"keys", "scan", "randomkey"})

# Read-only tokens may also run these, although they lack the readonly flag.
_READONLY_EXTRA = frozenset({"ping", "echo", "time"})


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    UNKNOWN = "unknown"
    UNSUPPORTED = "unsupported"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class CommandInfo:
    name: str
    flags: frozenset[str]
    categories: frozenset[str]

    @property
    def writes(self) -> bool:
        return "write" in self.flags or "may_replicate" in self.flags

    @property
    def read_only(self) -> bool:
        if self.name in _ENUMERATION:
            return False
        return "readonly" in self.flags or self.name in _READONLY_EXTRA


def _tenant_verdict(info: CommandInfo) -> Verdict:
    name = info.name
    categories = info.categories
    if "@admin" in categories or name in _SCRIPT_CONTROL:
        return Verdict.FORBIDDEN
    if "@dangerous" in categories and name not in _DANGEROUS_ALLOWED:
        return Verdict.FORBIDDEN
    if "@connection" in categories and name not in _CONNECTION_ALLOWED:
        return Verdict.UNSUPPORTED
    if "@transaction" in categories or name in _DATABASE_SWITCHING:
        return Verdict.UNSUPPORTED
    if name in _SUBSCRIBE:
        return Verdict.UNSUPPORTED
    if "@blocking" in categories and name not in _BLOCK_OPTIONAL:
        return Verdict.UNSUPPORTED
    return Verdict.ALLOWED


@dataclass(frozen=True, slots=True)
class Rule:
    """The gateway's treatment of one command or subcommand."""

    info: CommandInfo
    verdict: Verdict


class CommandTable:
    """Rules for every command of one server, keyed by lowercase name.

    Container commands (``OBJECT``, ``SCRIPT``, ...) are looked up as
    ``name|subcommand`` like the server's own ACL names.
    """

    def __init__(self, infos: Iterable[CommandInfo], containers: Iterable[str]):
        self._rules = {info.name: Rule(info, _tenant_verdict(info)) for info in infos}
        self._containers = frozenset(containers)

    def lookup(self, command: Sequence[bytes]) -> Rule | None:
        name = command[0].decode("utf-8", "replace").lower()
        if name in self._containers:
            if len(command) < 2:
                return self._rules.get(name)
            sub = command[1].decode("utf-8", "replace").lower()
            return self._rules.get(f"{name}|{sub}")
        return self._rules.get(name)

    def __len__(self) -> int:
        return len(self._rules)

    @classmethod
    def from_command_reply(cls, reply: list[object]) -> CommandTable:
        """Build the table from the raw RESP2 reply of ``COMMAND``."""
        infos: list[CommandInfo] = []
        containers: list[str] = []

        def visit(entry: list[object]) -> None:
            name = _text(entry[0])
            flags = frozenset(_text(flag) for flag in _list(entry[2]))
            categories = frozenset(_text(c) for c in _list(entry[6]))
            infos.append(CommandInfo(name.lower(), flags, categories))
            subcommands = _list(entry[9]) if len(entry) > 9 else []
            if subcommands:
                containers.append(name.lower())
            for sub in subcommands:
                visit(_list(sub))

        for entry in reply:
            visit(_list(entry))
        return cls(infos, containers)


# Options of XREAD and XREADGROUP that take values, with the number of values.
_STREAM_READ_OPTION_VALUES = {b"count": 1, b"block": 1, b"group": 2}


def is_blocking_call(command: Sequence[bytes]) -> bool:
    """Tell whether an XREAD/XREADGROUP call has the BLOCK option.

    A stream, group or consumer may itself be named "block", so the scan
    skips option values and stops at STREAMS.
    """
    index = 1
    while index < len(command):
        option = command[index].lower()
        if option == b"streams":
            return False
        if option == b"block":
            return True
        index += 1 + _STREAM_READ_OPTION_VALUES.get(option, 0)
    return False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return []


# ACL rules for the server users the gateway logs in as. They mirror
# ``_tenant_verdict`` with ACL categories, as a second line of defense.
# COMMAND stays allowed because the gateway reads the command table with it;
# the gateway itself never forwards COMMAND from a tenant.
ACL_RULES_READ_WRITE = (
    "~* &* +@all -@admin -@dangerous "
    + " ".join(f"+{name}" for name in sorted(_DANGEROUS_ALLOWED))
    + " -@connection +ping +echo +auth +command -@blocking +xread +xreadgroup "
    + " ".join(f"-{name}" for name in sorted(_DATABASE_SWITCHING | _SUBSCRIBE))
    + " "
    # The gateway itself stops runaway scripts with SCRIPT KILL (see
    # ``DataPath._stop_busy_script``), so only SCRIPT DEBUG is removed here;
    # tenants can send neither.
    + "-script|debug"
    + " -watch -unwatch -discard"
)
ACL_RULES_READ_ONLY = (
    "~* &* -@all +@read -@dangerous -@blocking +xread +ping +echo +time +auth +command "
    "+eval_ro +evalsha_ro +fcall_ro +sort_ro +script|kill +function|kill "
    "+multi +exec " + " ".join(f"-{name}" for name in sorted(_ENUMERATION))
)
