"""Tenant isolation: the operator's policies pass, deliberately broken ones fail."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubegateway.netpol.expectations import ExpectationResult, parse_expectations
from kubegateway.netpol.isolation import (
    check_tenant_isolation,
    tenant_isolation_expectations,
)
from kubegateway.netpol.loading import load_manifest_files

OPERATOR_POLICIES = Path(__file__).parent / "operator" / "tenant-policies.yaml"
TENANTS = ["a", "b"]

Manifests = list[dict[str, Any]]


def operator_manifests() -> Manifests:
    return copy.deepcopy(load_manifest_files([OPERATOR_POLICIES]))


def find_policy(manifests: Manifests, namespace: str, name: str) -> dict[str, Any]:
    for manifest in manifests:
        metadata = manifest["metadata"]
        if (
            manifest["kind"] == "NetworkPolicy"
            and metadata["namespace"] == namespace
            and metadata["name"] == name
        ):
            return manifest
    raise AssertionError(f"no policy {namespace}/{name}")


def failures(results: tuple[ExpectationResult, ...]) -> set[tuple[str, str, int, str]]:
    return {
        (
            result.expectation.source,
            result.expectation.destination,
            result.expectation.port,
            result.expectation.protocol.value,
        )
        for result in results
        if not result.passed
    }


def test_operator_policies_isolate_tenants() -> None:
    results = check_tenant_isolation(operator_manifests(), TENANTS)
    assert len(results) > 1000
    assert failures(results) == set()


def test_isolation_claims_hold() -> None:
    results = check_tenant_isolation(operator_manifests(), TENANTS)
    verdicts = {
        (
            r.expectation.source,
            r.expectation.destination,
            r.expectation.port,
            r.expectation.protocol.value,
        ): r.verdict.allowed
        for r in results
    }
    assert verdicts[("tenant-a", "tenant-b", 6379, "TCP")] is False
    assert verdicts[("tenant-b", "tenant-a", 6379, "TCP")] is False
    assert verdicts[("gateway", "tenant-a", 6379, "TCP")] is True
    assert verdicts[("gateway", "tenant-b", 6379, "TCP")] is True
    assert verdicts[("gateway", "tenant-a", 8080, "TCP")] is False
    assert verdicts[("gateway", "tenant-a", 6379, "UDP")] is False
    assert verdicts[("tenant-a", "kube-dns", 53, "UDP")] is True
    assert verdicts[("tenant-a", "kube-dns", 53, "TCP")] is True
    assert verdicts[("tenant-a", "kube-dns", 53, "SCTP")] is False
    assert verdicts[("tenant-a", "kube-dns", 443, "TCP")] is False
    assert verdicts[("tenant-a", "external", 53, "UDP")] is False
    assert verdicts[("tenant-a", "kube-system-other", 53, "UDP")] is False
    assert verdicts[("tenant-a", "gateway", 8080, "TCP")] is False
    assert verdicts[("tenant-a", "redis-system-other", 6379, "TCP")] is False
    assert verdicts[("redis-system-other", "tenant-a", 6379, "TCP")] is False
    assert verdicts[("tenant-a-app", "tenant-a", 6379, "TCP")] is True


def test_expectations_round_trip_through_yaml() -> None:
    document = tenant_isolation_expectations(TENANTS)
    reparsed = parse_expectations(yaml.safe_load(yaml.safe_dump(document)))
    assert len(reparsed.expectations) == len(document["expect"])
    assert reparsed.probe_ports == (53, 80, 443, 6379, 8080)


@pytest.mark.parametrize("tenant_ids", [[], ["a", "a"]])
def test_expectations_reject_bad_tenant_ids(tenant_ids: list[str]) -> None:
    with pytest.raises(ValueError, match="non-empty and unique"):
        tenant_isolation_expectations(tenant_ids)


def dns_to_everywhere(manifests: Manifests) -> None:
    find_policy(manifests, "tenant-a", "allow-dns-egress")["spec"]["egress"][0][
        "to"
    ] = []


def dns_peers_split(manifests: Manifests) -> None:
    rule = find_policy(manifests, "tenant-a", "allow-dns-egress")["spec"]["egress"][0]
    peer = rule["to"][0]
    rule["to"] = [
        {"namespaceSelector": peer["namespaceSelector"]},
        {"podSelector": peer["podSelector"]},
    ]


def gateway_peers_split(manifests: Manifests) -> None:
    rule = find_policy(manifests, "tenant-a", "allow-gateway")["spec"]["ingress"][0]
    peer = rule["from"][0]
    rule["from"] = [
        {"namespaceSelector": peer["namespaceSelector"]},
        {"podSelector": peer["podSelector"]},
    ]


def dns_without_ports(manifests: Manifests) -> None:
    del find_policy(manifests, "tenant-a", "allow-dns-egress")["spec"]["egress"][0][
        "ports"
    ]


def gateway_without_port(manifests: Manifests) -> None:
    del find_policy(manifests, "tenant-b", "allow-gateway")["spec"]["ingress"][0][
        "ports"
    ]


def same_namespace_policy_without_peers(manifests: Manifests) -> None:
    find_policy(manifests, "tenant-b", "allow-same-namespace")["spec"]["ingress"] = [{}]


BROKEN: dict[str, tuple[Callable[[Manifests], None], tuple[str, str, int, str]]] = {
    "dns-to-empty-list": (dns_to_everywhere, ("tenant-a", "external", 53, "UDP")),
    "dns-peers-split": (dns_peers_split, ("tenant-a", "kube-system-other", 53, "UDP")),
    "gateway-peers-split": (
        gateway_peers_split,
        ("redis-system-other", "tenant-a", 6379, "TCP"),
    ),
    "dns-all-ports": (dns_without_ports, ("tenant-a", "kube-dns", 443, "TCP")),
    "gateway-all-ports": (gateway_without_port, ("gateway", "tenant-b", 8080, "TCP")),
    "same-namespace-allows-all": (
        same_namespace_policy_without_peers,
        ("default-pod", "tenant-b", 6379, "TCP"),
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_policies_fail_isolation(name: str) -> None:
    break_policies, leak = BROKEN[name]
    manifests = operator_manifests()
    break_policies(manifests)
    failed = failures(check_tenant_isolation(manifests, TENANTS))
    assert failed, f"{name}: the isolation check passed on a broken policy set"
    assert leak in failed
