"""NetworkPolicy semantics: whether a connection is allowed, and why.

The rules follow the ``networking.k8s.io/v1`` API reference:

* A pod is isolated for ingress (egress) only if at least one policy in its
  namespace selects it and lists ``Ingress`` (``Egress``) in its defaulted
  ``policyTypes``. A pod that is not isolated accepts (sends) everything.
* An isolated pod allows a connection in that direction only if some rule of
  some selecting policy matches both the peer and the port. Policies and
  rules are additive, so the result is the union of all of them.
* A connection needs both the source's egress and the destination's ingress
  to allow it. Endpoints outside the pod network have no policies, so only the
  pod side of such a connection is checked.

NOTE: this computes what the policies permit. Whether a server listens on the
port, and whether the CNI plugin enforces policies at all, is outside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kubegateway.netpol.model import (
    Endpoint,
    Inventory,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyType,
    Protocol,
    Query,
    Rule,
)


@dataclass(frozen=True)
class DirectionVerdict:
    """Outcome for one direction (the source's egress or the destination's ingress).

    ``selecting`` lists the policies that isolate the pod in this direction.
    ``allowing`` lists those with a rule that matches the connection.
    """

    allowed: bool
    isolated: bool
    selecting: tuple[str, ...] = ()
    allowing: tuple[str, ...] = ()

    def explain(self, direction: str, endpoint: Endpoint) -> str:
        if not endpoint.is_pod:
            return f"{direction}: {endpoint.name} is not a pod, no policy applies"
        if not self.isolated:
            return f"{direction}: {endpoint.name} is not isolated, no policy selects it"
        if self.allowed:
            return f"{direction}: allowed by {', '.join(self.allowing)}"
        return f"{direction}: no rule in {', '.join(self.selecting)} matches"


@dataclass(frozen=True)
class Verdict:
    """Outcome of one ``Query``: allowed only if both directions allow it."""

    query: Query
    egress: DirectionVerdict
    ingress: DirectionVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    def explain(self) -> str:
        return "; ".join(
            (
                self.egress.explain("egress", self.query.source),
                self.ingress.explain("ingress", self.query.destination),
            )
        )


@dataclass(frozen=True)
class ReachabilityMatrix:
    """Verdicts for every ordered pair of ``endpoints`` on one port and protocol.

    ``verdicts[i][j]`` is the verdict for ``endpoints[i]`` connecting to
    ``endpoints[j]``.
    """

    port: int
    protocol: Protocol
    endpoints: tuple[Endpoint, ...]
    verdicts: tuple[tuple[Verdict, ...], ...]

    def allowed(self, source: str, destination: str) -> bool:
        names = [endpoint.name for endpoint in self.endpoints]
        return self.verdicts[names.index(source)][names.index(destination)].allowed


class Evaluator:
    """Evaluates ``Query`` objects against the policies of one ``Inventory``."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._policies_by_namespace: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in inventory.policies:
            self._policies_by_namespace[policy.namespace].append(policy)

    @property
    def inventory(self) -> Inventory:
        return self._inventory

    def evaluate(self, query: Query) -> Verdict:
        egress = self._direction(
            PolicyType.EGRESS, subject=query.source, peer=query.destination, query=query
        )
        ingress = self._direction(
            PolicyType.INGRESS,
            subject=query.destination,
            peer=query.source,
            query=query,
        )
        return Verdict(query=query, egress=egress, ingress=ingress)

    def is_allowed(
        self, source: Endpoint, destination: Endpoint, port: int, protocol: Protocol
    ) -> bool:
        return self.evaluate(Query(source, destination, port, protocol)).allowed

    def matrix(
        self, endpoints: Sequence[Endpoint], port: int, protocol: Protocol
    ) -> ReachabilityMatrix:
        rows = tuple(
            tuple(
                self.evaluate(Query(source, destination, port, protocol))
                for destination in endpoints
            )
            for source in endpoints
        )
        return ReachabilityMatrix(
            port=port, protocol=protocol, endpoints=tuple(endpoints), verdicts=rows
        )

    def _direction(
        self, policy_type: PolicyType, subject: Endpoint, peer: Endpoint, query: Query
    ) -> DirectionVerdict:
        if subject.namespace is None:
            return DirectionVerdict(allowed=True, isolated=False)
        selecting = [
            policy
            for policy in self._policies_by_namespace.get(subject.namespace, ())
            if policy_type in policy.policy_types
            and policy.pod_selector.matches(subject.labels)
        ]
        if not selecting:
            return DirectionVerdict(allowed=True, isolated=False)
        allowing = [
            policy.key
            for policy in selecting
            if self._any_rule_matches(policy, policy_type, peer, query)
        ]
        return DirectionVerdict(
            allowed=bool(allowing),
            isolated=True,
            selecting=tuple(policy.key for policy in selecting),
            allowing=tuple(allowing),
        )

    def _any_rule_matches(
        self,
        policy: NetworkPolicy,
        policy_type: PolicyType,
        peer: Endpoint,
        query: Query,
    ) -> bool:
        rules = policy.ingress if policy_type is PolicyType.INGRESS else policy.egress
        return any(
            self._rule_matches_peer(rule, policy.namespace, peer)
            and _rule_matches_port(rule, query.destination, query.port, query.protocol)
            for rule in rules
        )

    def _rule_matches_peer(
        self, rule: Rule, policy_namespace: str, other: Endpoint
    ) -> bool:
        if not rule.peers:
            return True
        return any(
            self._peer_matches(peer, policy_namespace, other) for peer in rule.peers
        )

    def _peer_matches(self, peer: Peer, policy_namespace: str, other: Endpoint) -> bool:
        if peer.ip_block is not None:
            return other.ip is not None and peer.ip_block.contains(other.ip)
        if other.namespace is None:
            return False
        if peer.namespace_selector is None:
            # A podSelector alone selects pods in the policy's own namespace.
            if other.namespace != policy_namespace:
                return False
        elif not peer.namespace_selector.matches(
            self._inventory.namespace_labels(other.namespace)
        ):
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(other.labels)


def _rule_matches_port(
    rule: Rule, destination: Endpoint, port: int, protocol: Protocol
) -> bool:
    if not rule.ports:
        return True
    return any(
        _port_matches(entry, destination, port, protocol) for entry in rule.ports
    )


def _port_matches(
    entry: PolicyPort, destination: Endpoint, port: int, protocol: Protocol
) -> bool:
    if entry.protocol is not protocol:
        return False
    if entry.port is None:
        return True
    if isinstance(entry.port, str):
        # Named ports resolve against the destination pod for both ingress and
        # egress rules; an outside address has no named ports.
        return destination.resolve_named_port(entry.port, protocol) == port
    if entry.end_port is not None:
        return entry.port <= port <= entry.end_port
    return entry.port == port
