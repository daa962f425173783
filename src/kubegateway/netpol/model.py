"""Parsed NetworkPolicy objects and the endpoints they are evaluated against.

The evaluator never reads raw manifests: everything it needs is in these
frozen dataclasses, built once by ``parsing``. Keeping the data inert means a
verdict depends only on the values shown here, which makes a wrong verdict
easy to reproduce from a test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kubegateway.netpol.selectors import LabelSelector

# The API server sets this label on every namespace (GA since Kubernetes 1.22),
# so policies can select a namespace by name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Protocol(StrEnum):
    """Transport protocols a NetworkPolicy port can name."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class PolicyType(StrEnum):
    """Direction a NetworkPolicy isolates the pods it selects in."""

    INGRESS = "Ingress"
    EGRESS = "Egress"


@dataclass(frozen=True)
class ContainerPort:
    """A port a container declares; ``name`` is what named policy ports match."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None


@dataclass(frozen=True)
class Namespace:
    """A namespace and its labels, including ``kubernetes.io/metadata.name``."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """One side of a connection: a pod (``namespace`` set) or an outside address.

    A pod endpoint is matched by pod and namespace selectors, and also by
    ``ipBlock`` peers when ``ip`` is known. An endpoint without a namespace is
    outside the cluster's pod network and only ``ipBlock`` peers can match it.
    """

    name: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    ip: IPAddress | None = None

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None

    def resolve_named_port(self, name: str, protocol: Protocol) -> int | None:
        """Return the number of the container port called ``name`` on ``protocol``."""
        for container_port in self.ports:
            if container_port.name == name and container_port.protocol is protocol:
                return container_port.port
        return None


@dataclass(frozen=True)
class IPBlock:
    """An ``ipBlock`` peer: addresses in ``cidr`` but in none of ``excepts``."""

    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    def contains(self, address: IPAddress) -> bool:
        if address.version != self.cidr.version or address not in self.cidr:
            return False
        return not any(address in excluded for excluded in self.excepts)


@dataclass(frozen=True)
class Peer:
    """One entry of a rule's ``from`` or ``to`` list.

    ``ip_block`` excludes both selectors. When only ``pod_selector`` is set
    the peer is limited to the policy's own namespace. When both selectors are
    set a pod must match both.
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True)
class PolicyPort:
    """One entry of a rule's ``ports`` list.

    ``port`` is a number, a container port name, or ``None`` for every port
    of ``protocol``. ``end_port`` turns a numeric ``port`` into an inclusive
    range.
    """

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None


@dataclass(frozen=True)
class Rule:
    """An ingress or egress rule.

    An empty ``peers`` tuple (``from``/``to`` missing or ``[]``) matches every
    peer, including outside addresses. An empty ``ports`` tuple matches every
    port and protocol.
    """

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True)
class NetworkPolicy:
    """A ``networking.k8s.io/v1`` NetworkPolicy after API defaulting.

    ``policy_types`` is already defaulted, and missing ``ingress``/``egress``
    lists are empty tuples, so no rule allows anything in that direction.
    """

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[PolicyType]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Query:
    """A connection attempt from ``source`` to ``destination`` on one port."""

    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol = Protocol.TCP


@dataclass(frozen=True)
class Inventory:
    """Everything read from manifests or a cluster: namespaces, pods, policies.

    ``warnings`` lists objects that were skipped, such as host-network pods.
    """

    namespaces: Mapping[str, Namespace] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    warnings: tuple[str, ...] = ()

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        """Return a namespace's labels, or only its name label if it is unknown.

        NOTE: a namespace absent from the input gets just
        ``kubernetes.io/metadata.name``, so selectors on other namespace
        labels will not match it. Include Namespace objects to avoid this.
        """
        namespace = self.namespaces.get(name)
        if namespace is None:
            return {NAMESPACE_NAME_LABEL: name}
        return namespace.labels

    def endpoint(self, name: str) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        return None
