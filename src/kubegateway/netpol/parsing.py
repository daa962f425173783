"""Conversion of Kubernetes manifests (plain dicts) into ``model`` objects.

Manifests come from YAML files, from ``lightkube`` objects turned into dicts,
or from tests. This module applies the same defaulting and validation the API
server applies to NetworkPolicy (``policyTypes``, ``protocol: TCP``, peer and
port rules), so a policy that the API server would reject is reported here
instead of being evaluated with a guessed meaning.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kubegateway.netpol.errors import InvalidManifest
from kubegateway.netpol.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    Endpoint,
    Inventory,
    IPAddress,
    IPBlock,
    IPNetwork,
    Namespace,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyType,
    Protocol,
    Rule,
)
from kubegateway.netpol.selectors import parse_label_selector, parse_labels

# Kinds whose pod template (``spec.template``) describes the pods they create.
WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
)

# An IANA service name as the API validates named ports: at most 15 characters
# of lowercase letters, digits and inner single hyphens, with at least one letter.
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9])){0,14}$")


@dataclass
class _Collected:
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    policies: dict[str, NetworkPolicy] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def build_inventory(
    manifests: Iterable[Mapping[str, object]], default_namespace: str = "default"
) -> Inventory:
    """Parse manifests into an ``Inventory``.

    NetworkPolicy, Namespace and Pod objects are read, plus the pod templates
    of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
    ``List`` objects are flattened. Other kinds are ignored. Objects without
    ``metadata.namespace`` are placed in ``default_namespace``, as
    ``kubectl apply`` does with the default context.
    """
    collected = _Collected()
    for manifest in manifests:
        _collect(manifest, collected, default_namespace)
    return Inventory(
        namespaces=dict(collected.namespaces),
        endpoints=tuple(collected.endpoints.values()),
        policies=tuple(collected.policies.values()),
        warnings=tuple(collected.warnings),
    )


def parse_network_policy(
    manifest: Mapping[str, object], default_namespace: str = "default"
) -> NetworkPolicy:
    """Parse one NetworkPolicy manifest, applying API defaults."""
    namespace, name = _namespace_and_name(manifest, default_namespace)
    where = f"NetworkPolicy {namespace}/{name}"
    spec = _mapping(manifest.get("spec"), f"{where}: spec")
    pod_selector = parse_label_selector(
        spec.get("podSelector"), f"{where}: spec.podSelector"
    )
    ingress = _parse_rules(spec.get("ingress"), "from", f"{where}: spec.ingress")
    egress = _parse_rules(spec.get("egress"), "to", f"{where}: spec.egress")
    policy_types = _parse_policy_types(spec, where)
    return NetworkPolicy(
        namespace=namespace,
        name=name,
        pod_selector=pod_selector,
        policy_types=policy_types,
        ingress=ingress,
        egress=egress,
    )


def parse_ip(raw: object, where: str) -> IPAddress:
    if not isinstance(raw, str):
        raise InvalidManifest(f"{where}: expected an IP address string, got {raw!r}")
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        raise InvalidManifest(f"{where}: invalid IP address {raw!r}") from None


def parse_container_ports(raw: object, where: str) -> tuple[ContainerPort, ...]:
    """Parse a list of ``{containerPort|port, name, protocol}`` mappings."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}: expected a list of ports, got {raw!r}")
    ports = []
    for index, item in enumerate(raw):
        item_where = f"{where}[{index}]"
        entry = _mapping(item, item_where)
        number = entry.get("containerPort", entry.get("port"))
        ports.append(
            ContainerPort(
                port=_port_number(number, f"{item_where}.containerPort"),
                protocol=parse_protocol(
                    entry.get("protocol"), f"{item_where}.protocol"
                ),
                name=_optional_str(entry.get("name"), f"{item_where}.name"),
            )
        )
    return tuple(ports)


def parse_protocol(raw: object, where: str) -> Protocol:
    if raw is None:
        return Protocol.TCP
    try:
        return Protocol(str(raw))
    except ValueError:
        raise InvalidManifest(
            f"{where}: invalid protocol {raw!r}; expected TCP, UDP or SCTP"
        ) from None


def _collect(manifest: object, collected: _Collected, default_namespace: str) -> None:
    if manifest is None:
        return
    document = _mapping(manifest, "manifest")
    kind = document.get("kind")
    if kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
        items = document.get("items") or []
        if not isinstance(items, list):
            raise InvalidManifest(f"{kind}: items must be a list, got {items!r}")
        # Typed lists from the API (PodList, ...) omit kind on their items.
        item_kind = kind[: -len("List")] if kind != "List" else None
        for item in items:
            if item_kind and isinstance(item, Mapping) and "kind" not in item:
                item = {**item, "kind": item_kind}
            _collect(item, collected, default_namespace)
    elif kind == "NetworkPolicy":
        policy = parse_network_policy(document, default_namespace)
        collected.policies[policy.key] = policy
    elif kind == "Namespace":
        namespace = _parse_namespace(document)
        collected.namespaces[namespace.name] = namespace
    elif kind == "Pod":
        _collect_pod(document, collected, default_namespace)
    elif kind in WORKLOAD_KINDS or kind == "CronJob":
        _collect_workload(document, str(kind), collected, default_namespace)


def _parse_namespace(manifest: Mapping[str, object]) -> Namespace:
    metadata = _mapping(manifest.get("metadata"), "Namespace: metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidManifest(f"Namespace: missing metadata.name in {manifest!r}")
    labels = parse_labels(metadata.get("labels"), f"Namespace {name}: metadata.labels")
    # The API server always sets this label; manifests written by hand omit it.
    labels.setdefault(NAMESPACE_NAME_LABEL, name)
    return Namespace(name=name, labels=labels)


def _collect_pod(
    manifest: Mapping[str, object], collected: _Collected, default_namespace: str
) -> None:
    namespace, name = _namespace_and_name(manifest, default_namespace)
    where = f"Pod {namespace}/{name}"
    spec = _mapping(manifest.get("spec"), f"{where}: spec")
    if spec.get("hostNetwork") is True:
        collected.warnings.append(
            f"{where}: skipped, it uses the host network and NetworkPolicy "
            "does not apply to it"
        )
        return
    status = manifest.get("status")
    ip: IPAddress | None = None
    if isinstance(status, Mapping):
        if status.get("phase") in ("Succeeded", "Failed"):
            collected.warnings.append(
                f"{where}: skipped, phase is {status.get('phase')}"
            )
            return
        if status.get("podIP"):
            ip = parse_ip(status.get("podIP"), f"{where}: status.podIP")
    metadata = _mapping(manifest.get("metadata"), f"{where}: metadata")
    endpoint = Endpoint(
        name=f"{namespace}/{name}",
        namespace=namespace,
        labels=parse_labels(metadata.get("labels"), f"{where}: metadata.labels"),
        ports=_pod_spec_ports(spec, where),
        ip=ip,
    )
    _add_endpoint(collected, endpoint, "Pod")


def _collect_workload(
    manifest: Mapping[str, object],
    kind: str,
    collected: _Collected,
    default_namespace: str,
) -> None:
    namespace, name = _namespace_and_name(manifest, default_namespace)
    where = f"{kind} {namespace}/{name}"
    spec = _mapping(manifest.get("spec"), f"{where}: spec")
    if kind == "CronJob":
        job_template = _mapping(spec.get("jobTemplate"), f"{where}: spec.jobTemplate")
        spec = _mapping(job_template.get("spec"), f"{where}: spec.jobTemplate.spec")
    template = _mapping(spec.get("template"), f"{where}: pod template")
    template_metadata = _mapping(
        template.get("metadata") or {}, f"{where}: template.metadata"
    )
    pod_spec = _mapping(template.get("spec"), f"{where}: template.spec")
    if pod_spec.get("hostNetwork") is True:
        collected.warnings.append(
            f"{where}: skipped, its pods use the host network and NetworkPolicy does "
            "not apply to them"
        )
        return
    endpoint = Endpoint(
        name=f"{namespace}/{name}",
        namespace=namespace,
        labels=parse_labels(
            template_metadata.get("labels"), f"{where}: template labels"
        ),
        ports=_pod_spec_ports(pod_spec, where),
    )
    _add_endpoint(collected, endpoint, kind)


def _add_endpoint(collected: _Collected, endpoint: Endpoint, kind: str) -> None:
    name = endpoint.name
    if name in collected.endpoints:
        # A Deployment and a Pod may share a name, so the second one gets its kind.
        name = f"{endpoint.name} ({kind})"
    collected.endpoints[name] = Endpoint(
        name=name,
        namespace=endpoint.namespace,
        labels=endpoint.labels,
        ports=endpoint.ports,
        ip=endpoint.ip,
    )


def _pod_spec_ports(
    spec: Mapping[str, object], where: str
) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for field_name in ("initContainers", "containers"):
        containers = spec.get(field_name) or []
        if not isinstance(containers, list):
            raise InvalidManifest(f"{where}: spec.{field_name} must be a list")
        for index, container in enumerate(containers):
            container_map = _mapping(container, f"{where}: spec.{field_name}[{index}]")
            ports.extend(
                parse_container_ports(
                    container_map.get("ports"),
                    f"{where}: spec.{field_name}[{index}].ports",
                )
            )
    return tuple(ports)


def _parse_policy_types(
    spec: Mapping[str, object], where: str
) -> frozenset[PolicyType]:
    raw = spec.get("policyTypes")
    if raw is None or raw == []:
        # API defaulting: Ingress always, Egress only when egress rules exist.
        types = {PolicyType.INGRESS}
        egress = spec.get("egress")
        if isinstance(egress, list) and egress:
            types.add(PolicyType.EGRESS)
        return frozenset(types)
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}: spec.policyTypes must be a list, got {raw!r}")
    types = set()
    for item in raw:
        try:
            types.add(PolicyType(item))
        except ValueError:
            raise InvalidManifest(
                f"{where}: invalid policyTypes entry {item!r}; "
                "expected Ingress or Egress"
            ) from None
    return frozenset(types)


def _parse_rules(raw: object, peers_field: str, where: str) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}: expected a list of rules, got {raw!r}")
    rules = []
    for index, item in enumerate(raw):
        rule_where = f"{where}[{index}]"
        rule = _mapping(item if item is not None else {}, rule_where)
        unknown = set(rule) - {peers_field, "ports"}
        if unknown:
            raise InvalidManifest(
                f"{rule_where}: unknown field(s) {sorted(unknown)}; "
                f"expected {peers_field} and/or ports"
            )
        peers = _parse_peers(rule.get(peers_field), f"{rule_where}.{peers_field}")
        ports = _parse_policy_ports(rule.get("ports"), f"{rule_where}.ports")
        rules.append(Rule(peers=peers, ports=ports))
    return tuple(rules)


def _parse_peers(raw: object, where: str) -> tuple[Peer, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}: expected a list of peers, got {raw!r}")
    peers = []
    for index, item in enumerate(raw):
        peer_where = f"{where}[{index}]"
        peer = _mapping(item, peer_where)
        unknown = set(peer) - {"podSelector", "namespaceSelector", "ipBlock"}
        if unknown:
            raise InvalidManifest(
                f"{peer_where}: unknown peer field(s) {sorted(unknown)}"
            )
        present = [
            key
            for key in ("podSelector", "namespaceSelector", "ipBlock")
            if key in peer
        ]
        if not present:
            raise InvalidManifest(
                f"{peer_where}: a peer must set podSelector, namespaceSelector "
                "or ipBlock"
            )
        if "ipBlock" in peer and len(present) > 1:
            raise InvalidManifest(
                f"{peer_where}: ipBlock cannot be combined with podSelector "
                "or namespaceSelector"
            )
        if "ipBlock" in peer:
            peers.append(
                Peer(ip_block=_parse_ip_block(peer["ipBlock"], f"{peer_where}.ipBlock"))
            )
            continue
        pod_selector = None
        namespace_selector = None
        if "podSelector" in peer:
            pod_selector = parse_label_selector(
                peer["podSelector"], f"{peer_where}.podSelector"
            )
        if "namespaceSelector" in peer:
            namespace_selector = parse_label_selector(
                peer["namespaceSelector"], f"{peer_where}.namespaceSelector"
            )
        peers.append(
            Peer(pod_selector=pod_selector, namespace_selector=namespace_selector)
        )
    return tuple(peers)


def _parse_ip_block(raw: object, where: str) -> IPBlock:
    block = _mapping(raw, where)
    cidr = _parse_cidr(block.get("cidr"), f"{where}.cidr")
    excepts_raw = block.get("except") or []
    if not isinstance(excepts_raw, list):
        raise InvalidManifest(
            f"{where}.except: expected a list of CIDRs, got {excepts_raw!r}"
        )
    excepts = []
    for index, item in enumerate(excepts_raw):
        excluded = _parse_cidr(item, f"{where}.except[{index}]")
        if excluded.version != cidr.version or not excluded.subnet_of(cidr):  # type: ignore[arg-type]
            raise InvalidManifest(
                f"{where}.except[{index}]: {item!r} is not inside cidr {cidr}"
            )
        excepts.append(excluded)
    return IPBlock(cidr=cidr, excepts=tuple(excepts))


def _parse_cidr(raw: object, where: str) -> IPNetwork:
    if not isinstance(raw, str) or "/" not in raw:
        raise InvalidManifest(
            f"{where}: expected a CIDR such as 10.0.0.0/8, got {raw!r}"
        )
    try:
        # strict=False: the API accepts host bits in a CIDR (10.1.2.3/8) and
        # treats it as the containing network.
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise InvalidManifest(f"{where}: invalid CIDR {raw!r}") from None


def _parse_policy_ports(raw: object, where: str) -> tuple[PolicyPort, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}: expected a list of ports, got {raw!r}")
    ports = []
    for index, item in enumerate(raw):
        port_where = f"{where}[{index}]"
        entry = _mapping(item if item is not None else {}, port_where)
        protocol = parse_protocol(entry.get("protocol"), f"{port_where}.protocol")
        port_raw = entry.get("port")
        port: int | str | None
        if port_raw is None:
            port = None
        elif isinstance(port_raw, str) and not port_raw.isdigit():
            if not _PORT_NAME.match(port_raw):
                raise InvalidManifest(
                    f"{port_where}.port: invalid port name {port_raw!r}"
                )
            port = port_raw
        else:
            port = _port_number(port_raw, f"{port_where}.port")
        end_port = None
        if entry.get("endPort") is not None:
            end_port = _port_number(entry.get("endPort"), f"{port_where}.endPort")
            if not isinstance(port, int):
                raise InvalidManifest(f"{port_where}: endPort requires a numeric port")
            if end_port < port:
                raise InvalidManifest(
                    f"{port_where}: endPort {end_port} is smaller than port {port}"
                )
        ports.append(PolicyPort(protocol=protocol, port=port, end_port=end_port))
    return tuple(ports)


def _port_number(raw: object, where: str) -> int:
    if isinstance(raw, str) and raw.isdigit():
        raise InvalidManifest(
            f"{where}: port {raw!r} is a quoted number; write it unquoted ({raw})"
        )
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 65535:
        raise InvalidManifest(f"{where}: invalid port {raw!r}; expected 1-65535")
    return raw


def _namespace_and_name(
    manifest: Mapping[str, object], default_namespace: str
) -> tuple[str, str]:
    kind = manifest.get("kind", "object")
    metadata = _mapping(manifest.get("metadata"), f"{kind}: metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidManifest(f"{kind}: missing metadata.name")
    namespace = metadata.get("namespace") or default_namespace
    if not isinstance(namespace, str):
        raise InvalidManifest(f"{kind} {name}: metadata.namespace must be a string")
    return namespace, name


def _optional_str(raw: object, where: str) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise InvalidManifest(f"{where}: expected a string, got {raw!r}")


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise InvalidManifest(f"{where}: expected a mapping, got {raw!r}")
    return raw
