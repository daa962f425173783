"""The expectation file: connections a user declares allowed or blocked.

The file is YAML with up to six top-level keys. ``endpoints`` defines named
probe endpoints (a pod by namespace, labels and ports, or an outside IP).
``namespaces`` gives labels for namespaces missing from the manifests.
``expect`` lists single connections with the expected outcome.
``deny_all_except`` limits what an endpoint may send (``from``) or accept
(``to``) to the listed peers. It expands to one expectation per
other endpoint, probe port and protocol. ``probe_ports`` and
``probe_protocols`` set what that expansion probes. docs/network-isolation.md
shows a full example.

Endpoint names may also refer to objects from the manifests, as
``<namespace>/<name>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from kubegateway.netpol.errors import InvalidExpectations, InvalidManifest
from kubegateway.netpol.evaluating import Evaluator, Verdict
from kubegateway.netpol.model import (
    NAMESPACE_NAME_LABEL,
    Endpoint,
    Inventory,
    Namespace,
    Protocol,
    Query,
)
from kubegateway.netpol.parsing import parse_container_ports, parse_ip, parse_protocol
from kubegateway.netpol.selectors import parse_labels

TOP_LEVEL_KEYS = frozenset(
    {
        "namespaces",
        "endpoints",
        "expect",
        "deny_all_except",
        "probe_ports",
        "probe_protocols",
    }
)


@dataclass(frozen=True)
class Expectation:
    """One connection and whether it must be allowed.

    ``origin`` points back into the file, for example ``expect[2]``.
    """

    source: str
    destination: str
    port: int
    protocol: Protocol
    allowed: bool
    origin: str


@dataclass(frozen=True)
class AllowedPeer:
    """An allowed peer in a ``deny_all_except`` entry.

    ``port`` or ``protocol`` set to ``None`` means any port or protocol.
    """

    peer: str
    port: int | None = None
    protocol: Protocol | None = None

    def covers(self, peer: str, port: int, protocol: Protocol) -> bool:
        return (
            self.peer == peer
            and (self.port is None or self.port == port)
            and (self.protocol is None or self.protocol is protocol)
        )


@dataclass(frozen=True)
class DenyAllExcept:
    """Everything ``subject`` sends (``direction="from"``) or accepts (``"to"``) is
    blocked except the ``allow`` entries, which must be allowed."""

    subject: str
    direction: Literal["from", "to"]
    allow: tuple[AllowedPeer, ...]
    origin: str


@dataclass(frozen=True)
class ExpectationSet:
    """A parsed expectation file."""

    namespaces: Mapping[str, Namespace]
    endpoints: tuple[Endpoint, ...]
    expectations: tuple[Expectation, ...]
    deny_all_except: tuple[DenyAllExcept, ...]
    probe_ports: tuple[int, ...]
    probe_protocols: tuple[Protocol, ...]


@dataclass(frozen=True)
class ExpectationResult:
    """An expectation next to the evaluator's verdict for it."""

    expectation: Expectation
    verdict: Verdict

    @property
    def passed(self) -> bool:
        return self.verdict.allowed == self.expectation.allowed


def load_expectations(path: Path) -> ExpectationSet:
    """Read and parse an expectation file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidExpectations(
            f"{path}: cannot read expectation file: {error}"
        ) from error
    except yaml.YAMLError as error:
        raise InvalidExpectations(f"{path}: invalid YAML: {error}") from error
    try:
        return parse_expectations(raw)
    except InvalidExpectations as error:
        raise InvalidExpectations(f"{path}: {error.message}") from error


def parse_expectations(raw: object) -> ExpectationSet:
    """Parse the expectation file structure (already loaded from YAML)."""
    if not isinstance(raw, Mapping):
        raise InvalidExpectations(f"expected a mapping at the top level, got {raw!r}")
    unknown = set(raw) - TOP_LEVEL_KEYS
    if unknown:
        raise InvalidExpectations(
            f"unknown top-level key(s) {sorted(unknown)}; "
            f"expected {sorted(TOP_LEVEL_KEYS)}"
        )
    try:
        namespaces = _parse_namespaces(raw.get("namespaces"))
        endpoints = _parse_endpoints(raw.get("endpoints"))
        expectations = _parse_expect(raw.get("expect"))
        rules = _parse_deny_all_except(raw.get("deny_all_except"))
        protocols = _parse_probe_protocols(raw.get("probe_protocols"))
    except InvalidManifest as error:
        raise InvalidExpectations(error.message) from error
    probe_ports = _parse_probe_ports(raw.get("probe_ports"))
    if probe_ports is None:
        probe_ports = _ports_mentioned(endpoints, expectations, rules)
    if rules and not probe_ports:
        raise InvalidExpectations(
            "deny_all_except needs ports to probe; "
            "set probe_ports, for example [53, 6379]"
        )
    return ExpectationSet(
        namespaces=namespaces,
        endpoints=endpoints,
        expectations=expectations,
        deny_all_except=rules,
        probe_ports=probe_ports,
        probe_protocols=protocols,
    )


def merge_inventory(inventory: Inventory, expectation_set: ExpectationSet) -> Inventory:
    """Add the file's namespaces and endpoints to ``inventory``.

    Namespaces read from manifests keep their labels; the file only adds
    namespaces that are missing. An endpoint name used by both is an error.
    """
    namespaces = dict(expectation_set.namespaces)
    namespaces.update(inventory.namespaces)
    known = {endpoint.name for endpoint in inventory.endpoints}
    for endpoint in expectation_set.endpoints:
        if endpoint.name in known:
            raise InvalidExpectations(
                f"endpoint {endpoint.name!r} is also defined by the manifests; "
                "rename it"
            )
    return dataclasses.replace(
        inventory,
        namespaces=namespaces,
        endpoints=inventory.endpoints + expectation_set.endpoints,
    )


def expand_expectations(
    expectation_set: ExpectationSet, inventory: Inventory
) -> tuple[Expectation, ...]:
    """Return the ``expect`` entries plus the expansion of ``deny_all_except``.

    ``inventory`` must already contain the file's endpoints (see
    ``merge_inventory``); every name is checked against it.
    """
    names = [endpoint.name for endpoint in inventory.endpoints]
    expanded: list[Expectation] = []
    for expectation in expectation_set.expectations:
        _require_endpoint(expectation.source, names, expectation.origin)
        _require_endpoint(expectation.destination, names, expectation.origin)
        expanded.append(expectation)
    for rule in expectation_set.deny_all_except:
        _require_endpoint(rule.subject, names, rule.origin)
        for allowed in rule.allow:
            _require_endpoint(allowed.peer, names, rule.origin)
        for other in names:
            if other == rule.subject:
                continue
            for port in expectation_set.probe_ports:
                for protocol in expectation_set.probe_protocols:
                    is_allowed = any(
                        entry.covers(other, port, protocol) for entry in rule.allow
                    )
                    source, destination = (
                        (rule.subject, other)
                        if rule.direction == "from"
                        else (other, rule.subject)
                    )
                    expanded.append(
                        Expectation(
                            source=source,
                            destination=destination,
                            port=port,
                            protocol=protocol,
                            allowed=is_allowed,
                            origin=rule.origin,
                        )
                    )
    return tuple(expanded)


def check_expectations(
    inventory: Inventory, expectation_set: ExpectationSet
) -> tuple[ExpectationResult, ...]:
    """Evaluate every expectation against ``inventory`` merged with the file."""
    merged = merge_inventory(inventory, expectation_set)
    evaluator = Evaluator(merged)
    endpoints = {endpoint.name: endpoint for endpoint in merged.endpoints}
    results = []
    for expectation in expand_expectations(expectation_set, merged):
        query = Query(
            source=endpoints[expectation.source],
            destination=endpoints[expectation.destination],
            port=expectation.port,
            protocol=expectation.protocol,
        )
        results.append(ExpectationResult(expectation, evaluator.evaluate(query)))
    return tuple(results)


def _require_endpoint(name: str, names: Sequence[str], origin: str) -> None:
    if name not in names:
        raise InvalidExpectations(
            f"{origin}: unknown endpoint {name!r}; define it under endpoints or use "
            "<namespace>/<name> of a pod or workload from the manifests"
        )


def _parse_namespaces(raw: object) -> dict[str, Namespace]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidExpectations(
            f"namespaces: expected a mapping of name to labels, got {raw!r}"
        )
    namespaces = {}
    for name, labels_raw in raw.items():
        labels = parse_labels(labels_raw, f"namespaces.{name}")
        labels.setdefault(NAMESPACE_NAME_LABEL, str(name))
        namespaces[str(name)] = Namespace(name=str(name), labels=labels)
    return namespaces


def _parse_endpoints(raw: object) -> tuple[Endpoint, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise InvalidExpectations(
            f"endpoints: expected a mapping of name to endpoint, got {raw!r}"
        )
    endpoints = []
    for name, spec in raw.items():
        where = f"endpoints.{name}"
        if not isinstance(spec, Mapping):
            raise InvalidExpectations(f"{where}: expected a mapping, got {spec!r}")
        unknown = set(spec) - {"namespace", "labels", "ports", "ip"}
        if unknown:
            raise InvalidExpectations(
                f"{where}: unknown field(s) {sorted(unknown)}; "
                "expected namespace, labels, ports and ip"
            )
        namespace = spec.get("namespace")
        ip = parse_ip(spec["ip"], f"{where}.ip") if spec.get("ip") is not None else None
        if namespace is None and ip is None:
            raise InvalidExpectations(
                f"{where}: set namespace (a pod) or ip (an address outside the cluster)"
            )
        if namespace is not None and not isinstance(namespace, str):
            raise InvalidExpectations(
                f"{where}.namespace: expected a string, got {namespace!r}"
            )
        if namespace is None and (spec.get("labels") or spec.get("ports")):
            raise InvalidExpectations(
                f"{where}: labels and ports need a namespace; an IP-only endpoint is "
                "outside the cluster"
            )
        endpoints.append(
            Endpoint(
                name=str(name),
                namespace=namespace,
                labels=parse_labels(spec.get("labels"), f"{where}.labels"),
                ports=parse_container_ports(spec.get("ports"), f"{where}.ports"),
                ip=ip,
            )
        )
    return tuple(endpoints)


def _parse_expect(raw: object) -> tuple[Expectation, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidExpectations(f"expect: expected a list, got {raw!r}")
    expectations = []
    for index, item in enumerate(raw):
        where = f"expect[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidExpectations(f"{where}: expected a mapping, got {item!r}")
        unknown = set(item) - {"from", "to", "port", "protocol", "allowed"}
        if unknown:
            raise InvalidExpectations(f"{where}: unknown field(s) {sorted(unknown)}")
        allowed = item.get("allowed")
        if not isinstance(allowed, bool):
            raise InvalidExpectations(
                f"{where}.allowed: expected true or false, got {allowed!r}"
            )
        expectations.append(
            Expectation(
                source=_endpoint_name(item.get("from"), f"{where}.from"),
                destination=_endpoint_name(item.get("to"), f"{where}.to"),
                port=_port(item.get("port"), f"{where}.port"),
                protocol=parse_protocol(item.get("protocol"), f"{where}.protocol"),
                allowed=allowed,
                origin=where,
            )
        )
    return tuple(expectations)


def _parse_deny_all_except(raw: object) -> tuple[DenyAllExcept, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidExpectations(f"deny_all_except: expected a list, got {raw!r}")
    rules = []
    for index, item in enumerate(raw):
        where = f"deny_all_except[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidExpectations(f"{where}: expected a mapping, got {item!r}")
        unknown = set(item) - {"from", "to", "allow"}
        if unknown:
            raise InvalidExpectations(f"{where}: unknown field(s) {sorted(unknown)}")
        if ("from" in item) == ("to" in item):
            raise InvalidExpectations(f"{where}: set exactly one of from or to")
        direction: Literal["from", "to"] = "from" if "from" in item else "to"
        peer_key = "to" if direction == "from" else "from"
        subject = _endpoint_name(item[direction], f"{where}.{direction}")
        allow_raw = item.get("allow") or []
        if not isinstance(allow_raw, list):
            raise InvalidExpectations(
                f"{where}.allow: expected a list, got {allow_raw!r}"
            )
        allow = []
        for allow_index, entry in enumerate(allow_raw):
            entry_where = f"{where}.allow[{allow_index}]"
            if not isinstance(entry, Mapping):
                raise InvalidExpectations(
                    f"{entry_where}: expected a mapping, got {entry!r}"
                )
            unknown = set(entry) - {peer_key, "port", "protocol"}
            if unknown:
                raise InvalidExpectations(
                    f"{entry_where}: unknown field(s) {sorted(unknown)}; "
                    f"expected {peer_key}, port and protocol"
                )
            port = entry.get("port")
            protocol = entry.get("protocol")
            allow.append(
                AllowedPeer(
                    peer=_endpoint_name(
                        entry.get(peer_key), f"{entry_where}.{peer_key}"
                    ),
                    port=None if port is None else _port(port, f"{entry_where}.port"),
                    protocol=(
                        None
                        if protocol is None
                        else parse_protocol(protocol, f"{entry_where}.protocol")
                    ),
                )
            )
        rules.append(
            DenyAllExcept(
                subject=subject, direction=direction, allow=tuple(allow), origin=where
            )
        )
    return tuple(rules)


def _parse_probe_ports(raw: object) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidExpectations(
            f"probe_ports: expected a list of port numbers, got {raw!r}"
        )
    return tuple(sorted({_port(item, "probe_ports") for item in raw}))


def _parse_probe_protocols(raw: object) -> tuple[Protocol, ...]:
    if raw is None:
        return tuple(Protocol)
    if not isinstance(raw, list) or not raw:
        raise InvalidExpectations(
            f"probe_protocols: expected a non-empty list such as [TCP, UDP], "
            f"got {raw!r}"
        )
    return tuple(dict.fromkeys(parse_protocol(item, "probe_protocols") for item in raw))


def _ports_mentioned(
    endpoints: Sequence[Endpoint],
    expectations: Sequence[Expectation],
    rules: Sequence[DenyAllExcept],
) -> tuple[int, ...]:
    ports: set[int] = set()
    for endpoint in endpoints:
        ports.update(container_port.port for container_port in endpoint.ports)
    ports.update(expectation.port for expectation in expectations)
    for rule in rules:
        ports.update(entry.port for entry in rule.allow if entry.port is not None)
    return tuple(sorted(ports))


def _endpoint_name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidExpectations(f"{where}: expected an endpoint name, got {raw!r}")
    return raw


def _port(raw: Any, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 65535:
        raise InvalidExpectations(f"{where}: invalid port {raw!r}; expected 1-65535")
    return raw
