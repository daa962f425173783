"""Unit tests for label selectors, parsing and NetworkPolicy evaluation rules."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from kubegateway.netpol.errors import InvalidManifest
from kubegateway.netpol.evaluating import Evaluator
from kubegateway.netpol.loading import load_manifest_files
from kubegateway.netpol.model import ContainerPort, Endpoint, PolicyType, Protocol
from kubegateway.netpol.parsing import build_inventory, parse_network_policy
from kubegateway.netpol.selectors import parse_label_selector


def policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def pod(
    namespace: str,
    name: str,
    labels: dict[str, str],
    ports: list[dict[str, Any]] | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "main", "ports": ports or []}]},
    }
    if ip is not None:
        manifest["status"] = {"phase": "Running", "podIP": ip}
    return manifest


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels},
    }


def allowed(
    manifests: list[dict[str, Any]],
    source: str | Endpoint,
    destination: str | Endpoint,
    port: int,
    protocol: Protocol = Protocol.TCP,
) -> bool:
    inventory = build_inventory(manifests)
    endpoints = {endpoint.name: endpoint for endpoint in inventory.endpoints}
    source_endpoint = endpoints[source] if isinstance(source, str) else source
    destination_endpoint = (
        endpoints[destination] if isinstance(destination, str) else destination
    )
    return Evaluator(inventory).is_allowed(
        source_endpoint, destination_endpoint, port, protocol
    )


EXTERNAL = Endpoint(name="external", ip=ipaddress.ip_address("203.0.113.10"))

BASE = [
    namespace("app", {"team": "red"}),
    namespace("other", {"team": "blue"}),
    pod(
        "app",
        "web",
        {"role": "web"},
        [{"containerPort": 8080, "name": "http"}],
        "10.1.0.1",
    ),
    pod(
        "app", "db", {"role": "db"}, [{"containerPort": 5432, "name": "pg"}], "10.1.0.2"
    ),
    pod(
        "other",
        "web",
        {"role": "web"},
        [{"containerPort": 8080, "name": "http"}],
        "10.2.0.1",
    ),
]


# Label selectors


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        (
            {
                "matchExpressions": [
                    {"key": "a", "operator": "In", "values": ["1", "2"]}
                ]
            },
            {"a": "2"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]},
            {},
            False,
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {},
            True,
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]},
            {"a": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
        (
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]},
            {"b": "1"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]},
            {"a": "1"},
            False,
        ),
        (
            {
                "matchLabels": {"a": "1"},
                "matchExpressions": [{"key": "b", "operator": "Exists"}],
            },
            {"a": "1"},
            False,
        ),
    ],
)
def test_label_selector_matching(
    selector: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    assert parse_label_selector(selector, "test").matches(labels) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
        {"matchLabels": {"a": 1}},
        {"matchLabel": {"a": "1"}},
    ],
)
def test_label_selector_rejects_invalid(selector: dict[str, Any]) -> None:
    with pytest.raises(InvalidManifest):
        parse_label_selector(selector, "test")


# policyTypes defaulting


def test_policy_types_default_ingress_only() -> None:
    parsed = parse_network_policy(policy("p", "app", {"podSelector": {}, "egress": []}))
    assert parsed.policy_types == frozenset({PolicyType.INGRESS})


def test_policy_types_default_adds_egress_with_rules() -> None:
    parsed = parse_network_policy(
        policy("p", "app", {"podSelector": {}, "egress": [{}]})
    )
    assert parsed.policy_types == frozenset({PolicyType.INGRESS, PolicyType.EGRESS})


def test_policy_types_explicit_kept() -> None:
    parsed = parse_network_policy(
        policy(
            "p", "app", {"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}]}
        )
    )
    assert parsed.policy_types == frozenset({PolicyType.EGRESS})


def test_egress_rules_without_egress_type_ignored() -> None:
    # policyTypes [Ingress] with egress rules: the pod is not egress-isolated.
    manifests = [
        *BASE,
        policy(
            "p", "app", {"podSelector": {}, "policyTypes": ["Ingress"], "egress": []}
        ),
    ]
    assert allowed(manifests, "app/web", "other/web", 8080)


# Isolation and rule shapes


def test_unselected_pod_not_isolated() -> None:
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {"matchLabels": {"role": "db"}}}),
    ]
    assert allowed(manifests, "other/web", "app/web", 8080)
    assert not allowed(manifests, "other/web", "app/db", 5432)


def test_empty_rule_allows_everything() -> None:
    manifests = [*BASE, policy("p", "app", {"podSelector": {}, "ingress": [{}]})]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert allowed(manifests, EXTERNAL, "app/db", 9999, Protocol.SCTP)


def test_missing_ingress_allows_nothing() -> None:
    manifests = [*BASE, policy("p", "app", {"podSelector": {}})]
    assert not allowed(manifests, "app/web", "app/db", 5432)
    assert not allowed(manifests, EXTERNAL, "app/db", 5432)


def test_empty_from_list_means_all_sources() -> None:
    manifests = [
        *BASE,
        policy(
            "p",
            "app",
            {"podSelector": {}, "ingress": [{"from": [], "ports": [{"port": 5432}]}]},
        ),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert allowed(manifests, EXTERNAL, "app/db", 5432)
    assert not allowed(manifests, EXTERNAL, "app/db", 5433)


def test_pod_selector_alone_means_policy_namespace() -> None:
    manifests = [
        *BASE,
        policy(
            "p",
            "app",
            {
                "podSelector": {},
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"role": "web"}}}]}
                ],
            },
        ),
    ]
    assert allowed(manifests, "app/web", "app/db", 5432)
    assert not allowed(manifests, "other/web", "app/db", 5432)


def test_selectors_in_one_peer_are_anded() -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"team": "blue"}},
        "podSelector": {"matchLabels": {"role": "db"}},
    }
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": [peer]}]}),
    ]
    assert not allowed(manifests, "other/web", "app/db", 5432)


def test_separate_peers_are_ored() -> None:
    peers = [
        {"namespaceSelector": {"matchLabels": {"team": "blue"}}},
        {"podSelector": {"matchLabels": {"role": "db"}}},
    ]
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": peers}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert not allowed(manifests, "app/web", "app/db", 5432)


def test_policies_combine_as_union() -> None:
    manifests = [
        *BASE,
        policy("deny", "app", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        policy(
            "allow-5432",
            "app",
            {"podSelector": {}, "ingress": [{"ports": [{"port": 5432}]}]},
        ),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert not allowed(manifests, "other/web", "app/db", 5433)


def test_needs_both_egress_and_ingress() -> None:
    deny_egress = policy(
        "deny-egress", "other", {"podSelector": {}, "policyTypes": ["Egress"]}
    )
    allow_ingress = policy("allow", "app", {"podSelector": {}, "ingress": [{}]})
    assert not allowed(
        [*BASE, deny_egress, allow_ingress], "other/web", "app/web", 8080
    )
    assert allowed([*BASE, allow_ingress], "other/web", "app/web", 8080)


def test_namespace_selector_uses_default_name_label() -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}
    }
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": [peer]}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)


# Ports


def test_port_protocol_defaults_to_tcp() -> None:
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"ports": [{"port": 53}]}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 53, Protocol.TCP)
    assert not allowed(manifests, "other/web", "app/db", 53, Protocol.UDP)


def test_end_port_range_inclusive() -> None:
    ports = [{"port": 8000, "endPort": 8080, "protocol": "TCP"}]
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"ports": ports}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 8000)
    assert allowed(manifests, "other/web", "app/db", 8080)
    assert not allowed(manifests, "other/web", "app/db", 8081)
    assert not allowed(manifests, "other/web", "app/db", 7999)


def test_named_port_ingress_resolves_on_destination() -> None:
    manifests = [
        *BASE,
        policy(
            "p", "app", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}
        ),
    ]
    assert allowed(manifests, "other/web", "app/web", 8080)
    # app/db has no port called http, so nothing matches on it.
    assert not allowed(manifests, "other/web", "app/db", 8080)


def test_named_port_egress_resolves_on_destination() -> None:
    manifests = [
        *BASE,
        policy(
            "p",
            "other",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": "pg"}]}],
            },
        ),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert not allowed(manifests, "other/web", "app/web", 5432)
    assert not allowed(manifests, "other/web", EXTERNAL, 5432)


def test_named_port_protocol_must_match() -> None:
    ports = [{"containerPort": 53, "name": "dns", "protocol": "UDP"}]
    manifests = [
        pod("kube-system", "dns", {"k8s-app": "kube-dns"}, ports),
        pod("app", "client", {}),
        policy(
            "p",
            "kube-system",
            {"podSelector": {}, "ingress": [{"ports": [{"port": "dns"}]}]},
        ),
    ]
    # The policy port defaults to TCP while the container port named dns is UDP.
    assert not allowed(manifests, "app/client", "kube-system/dns", 53, Protocol.UDP)
    assert not allowed(manifests, "app/client", "kube-system/dns", 53, Protocol.TCP)


# ipBlock


def test_ip_block_except_for_external_endpoints() -> None:
    block = {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.10/32"]}}
    manifests = [
        *BASE,
        policy(
            "p",
            "app",
            {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [block]}]},
        ),
    ]
    other_address = Endpoint(
        name="other-address", ip=ipaddress.ip_address("203.0.113.11")
    )
    assert allowed(manifests, "app/web", other_address, 443)
    assert not allowed(manifests, "app/web", EXTERNAL, 443)


def test_ip_block_matches_pod_ip() -> None:
    block = {"ipBlock": {"cidr": "10.2.0.0/16"}}
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": [block]}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert not allowed(manifests, "app/web", "app/db", 5432)


def test_ip_block_never_matches_pod_without_ip() -> None:
    block = {"ipBlock": {"cidr": "0.0.0.0/0"}}
    manifests = [
        *BASE,
        pod("other", "no-ip", {}),
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": [block]}]}),
    ]
    assert not allowed(manifests, "other/no-ip", "app/db", 5432)


def test_selectors_never_match_external_endpoint() -> None:
    peer = {"namespaceSelector": {}}
    manifests = [
        *BASE,
        policy("p", "app", {"podSelector": {}, "ingress": [{"from": [peer]}]}),
    ]
    assert allowed(manifests, "other/web", "app/db", 5432)
    assert not allowed(manifests, EXTERNAL, "app/db", 5432)


# Parsing and validation


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"ingress": [{"from": [{}]}]}, "a peer must set"),
        (
            {
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}
                ]
            },
            "ipBlock cannot",
        ),
        (
            {
                "ingress": [
                    {
                        "from": [
                            {
                                "ipBlock": {
                                    "cidr": "10.0.0.0/8",
                                    "except": ["11.0.0.0/8"],
                                }
                            }
                        ]
                    }
                ]
            },
            "not inside",
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0"}}]}]},
            "expected a CIDR",
        ),
        (
            {"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]},
            "endPort requires",
        ),
        ({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}, "smaller than"),
        ({"ingress": [{"ports": [{"port": "80"}]}]}, "quoted number"),
        ({"ingress": [{"ports": [{"port": 70000}]}]}, "invalid port"),
        ({"ingress": [{"ports": [{"protocol": "ICMP"}]}]}, "invalid protocol"),
        ({"policyTypes": ["Both"]}, "invalid policyTypes"),
        ({"ingress": [{"form": []}]}, "unknown field"),
    ],
)
def test_invalid_policy_rejected(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidManifest, match=message):
        parse_network_policy(policy("bad", "app", {"podSelector": {}, **spec}))


def test_workload_templates_become_endpoints() -> None:
    template = {
        "metadata": {"labels": {"app": "redis"}},
        "spec": {
            "containers": [
                {"name": "redis", "ports": [{"containerPort": 6379, "name": "redis"}]}
            ]
        },
    }
    manifests = [
        {
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "app"},
            "spec": {"template": template},
        },
        {
            "kind": "StatefulSet",
            "metadata": {"name": "redis", "namespace": "app"},
            "spec": {"template": template},
        },
        {
            "kind": "CronJob",
            "metadata": {"name": "backup", "namespace": "app"},
            "spec": {"jobTemplate": {"spec": {"template": template}}},
        },
    ]
    inventory = build_inventory(manifests)
    names = [endpoint.name for endpoint in inventory.endpoints]
    assert names == ["app/api", "app/redis", "app/backup"]
    endpoint = inventory.endpoints[1]
    assert endpoint.labels == {"app": "redis"}
    assert endpoint.ports == (
        ContainerPort(port=6379, protocol=Protocol.TCP, name="redis"),
    )


def test_host_network_pod_skipped_with_warning() -> None:
    manifest = pod("app", "node-agent", {})
    manifest["spec"]["hostNetwork"] = True
    inventory = build_inventory([manifest])
    assert inventory.endpoints == ()
    assert "host network" in inventory.warnings[0]


def test_list_kind_flattened() -> None:
    inventory = build_inventory([{"kind": "List", "items": BASE}])
    assert len(inventory.endpoints) == 3
    assert set(inventory.namespaces) == {"app", "other"}


def test_typed_list_items_get_kind() -> None:
    items = [{"metadata": {"name": "solo", "namespace": "app"}, "spec": {}}]
    inventory = build_inventory([{"kind": "PodList", "items": items}])
    assert [endpoint.name for endpoint in inventory.endpoints] == ["app/solo"]


def test_namespace_gets_name_label() -> None:
    inventory = build_inventory([namespace("app", {"team": "red"})])
    assert inventory.namespaces["app"].labels == {
        "team": "red",
        "kubernetes.io/metadata.name": "app",
    }


def test_load_multi_document_and_directory(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "kind: Namespace\nmetadata: {name: one}\n---\n---\n"
        "kind: Namespace\nmetadata: {name: two}\n"
    )
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "b.yml").write_text(
        "kind: List\nitems:\n  - kind: Namespace\n    metadata: {name: three}\n"
    )
    (nested / "notes.txt").write_text("not a manifest")
    manifests = load_manifest_files([tmp_path])
    assert len(manifests) == 3
    assert set(build_inventory(manifests).namespaces) == {"one", "two", "three"}


def test_load_rejects_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: [unclosed\n")
    with pytest.raises(InvalidManifest, match="invalid YAML"):
        load_manifest_files([path])


def test_load_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidManifest, match="file not found"):
        load_manifest_files([tmp_path / "missing.yaml"])
