"""Expectations that prove the operator's per-tenant NetworkPolicies isolate tenants.

The operator gives each tenant a namespace ``tenant-<id>``, labelled
``redis.kubegateway.io/tenant=<id>``, with a default-deny policy. Three allow
policies open ingress from the gateway pods in ``redis-system`` on TCP 6379,
traffic between pods of the same namespace, and DNS egress to kube-dns in
``kube-system`` on UDP and TCP 53.

``tenant_isolation_expectations`` states what those policies must achieve, in
the expectation file format, using probe pods that stand in for real ones:

* no tenant reaches another tenant, in either direction, on any probed port;
* the gateway reaches every tenant on TCP 6379 and on nothing else, and no
  other pod in ``redis-system`` reaches a tenant;
* a tenant's only traffic leaving its namespace is DNS to kube-dns on UDP
  and TCP 53; egress to an outside IP, to other kube-system pods, to
  ``redis-system`` and to other tenants is blocked.

``check_tenant_isolation`` runs those expectations against any list of
manifest dicts, such as hand-written YAML or objects read back from an API
server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubegateway.netpol.expectations import (
    ExpectationResult,
    check_expectations,
    parse_expectations,
)
from kubegateway.netpol.parsing import build_inventory

TENANT_NAMESPACE_PREFIX = "tenant-"
TENANT_LABEL = "redis.kubegateway.io/tenant"
GATEWAY_NAMESPACE = "redis-system"
GATEWAY_LABELS = {"app.kubernetes.io/name": "kubegateway-gateway"}
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
REDIS_PORT = 6379
DNS_PORT = 53
GATEWAY_HTTP_PORT = 8080
# 203.0.113.0/24 is TEST-NET-3 (RFC 5737): documentation only, never routed.
EXTERNAL_PROBE_IP = "203.0.113.10"
# NOTE: only these ports are probed, so a rule that opens some other port
# (22, say) would not fail the check.
PROBE_PORTS = (DNS_PORT, 80, 443, REDIS_PORT, GATEWAY_HTTP_PORT)

# Probe pod IPs, so that ipBlock rules in the policies also get evaluated
# against pods. 10.244.0.0/16 is a common default pod CIDR; the values are
# arbitrary and only have to differ from each other and from EXTERNAL_PROBE_IP.
_SYSTEM_POD_IPS = {
    "kube-dns": "10.244.0.10",
    "kube-system-other": "10.244.0.11",
    "gateway": "10.244.1.10",
    "redis-system-other": "10.244.1.11",
    "default-pod": "10.244.2.10",
}
_TENANT_POD_NETWORK = ipaddress.ip_network("10.245.0.0/16")


def tenant_namespace(tenant_id: str) -> str:
    return f"{TENANT_NAMESPACE_PREFIX}{tenant_id}"


def tenant_isolation_expectations(tenant_ids: Sequence[str]) -> dict[str, Any]:
    """Return an expectation file (as a dict) for the given tenants.

    Each tenant gets two probe pods: ``tenant-<id>`` (a Redis pod serving
    6379) and ``tenant-<id>-app`` (another pod in the same namespace). The
    result can be dumped with ``yaml.safe_dump`` and passed to
    ``kubegateway netpol check --expectations``.
    """
    if len(set(tenant_ids)) != len(tenant_ids) or not tenant_ids:
        raise ValueError(
            f"tenant_ids must be non-empty and unique, got {list(tenant_ids)!r}"
        )
    if len(tenant_ids) > _TENANT_POD_NETWORK.num_addresses // 2 - 1:
        raise ValueError(
            f"too many tenants for {_TENANT_POD_NETWORK}: {len(tenant_ids)}"
        )
    endpoints = _system_endpoints()
    namespaces: dict[str, dict[str, str]] = {
        GATEWAY_NAMESPACE: {},
        "kube-system": {},
        "default": {},
    }
    expect: list[dict[str, Any]] = []
    deny_all_except: list[dict[str, Any]] = []
    for index, tenant_id in enumerate(tenant_ids):
        namespace = tenant_namespace(tenant_id)
        namespaces[namespace] = {TENANT_LABEL: tenant_id}
        redis_pod, app_pod = namespace, f"{namespace}-app"
        endpoints[redis_pod] = {
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "redis", TENANT_LABEL: tenant_id},
            "ports": [{"name": "redis", "port": REDIS_PORT, "protocol": "TCP"}],
            "ip": str(_TENANT_POD_NETWORK[2 * index + 2]),
        }
        endpoints[app_pod] = {
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "tenant-app"},
            "ip": str(_TENANT_POD_NETWORK[2 * index + 3]),
        }
        expect.extend(_headline_expectations(redis_pod))
        for pod, sibling in ((redis_pod, app_pod), (app_pod, redis_pod)):
            deny_all_except.append(
                {
                    "from": pod,
                    "allow": [
                        {"to": "kube-dns", "port": DNS_PORT, "protocol": "UDP"},
                        {"to": "kube-dns", "port": DNS_PORT, "protocol": "TCP"},
                        {"to": sibling},
                    ],
                }
            )
            deny_all_except.append(
                {
                    "to": pod,
                    "allow": [
                        {"from": "gateway", "port": REDIS_PORT, "protocol": "TCP"},
                        {"from": sibling},
                    ],
                }
            )
    for source in tenant_ids:
        for destination in tenant_ids:
            if source != destination:
                expect.append(
                    _expect(
                        tenant_namespace(source),
                        tenant_namespace(destination),
                        REDIS_PORT,
                    )
                )
    return {
        "namespaces": namespaces,
        "endpoints": endpoints,
        "probe_ports": list(PROBE_PORTS),
        "probe_protocols": ["TCP", "UDP", "SCTP"],
        "expect": expect,
        "deny_all_except": deny_all_except,
    }


def check_tenant_isolation(
    manifests: Iterable[Mapping[str, object]], tenant_ids: Sequence[str]
) -> tuple[ExpectationResult, ...]:
    """Check the isolation expectations against ``manifests``.

    ``manifests`` must contain the tenants' NetworkPolicies and may contain
    Namespace objects; their labels replace the ones the expectations assume.
    """
    expectation_set = parse_expectations(tenant_isolation_expectations(tenant_ids))
    return check_expectations(build_inventory(manifests), expectation_set)


def _system_endpoints() -> dict[str, dict[str, Any]]:
    return {
        "gateway": {
            "namespace": GATEWAY_NAMESPACE,
            "labels": dict(GATEWAY_LABELS),
            "ports": [{"name": "http", "port": GATEWAY_HTTP_PORT, "protocol": "TCP"}],
            "ip": _SYSTEM_POD_IPS["gateway"],
        },
        "redis-system-other": {
            "namespace": GATEWAY_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "kubegateway-operator"},
            "ip": _SYSTEM_POD_IPS["redis-system-other"],
        },
        "kube-dns": {
            "namespace": "kube-system",
            "labels": dict(KUBE_DNS_LABELS),
            "ports": [
                {"name": "dns", "port": DNS_PORT, "protocol": "UDP"},
                {"name": "dns-tcp", "port": DNS_PORT, "protocol": "TCP"},
            ],
            "ip": _SYSTEM_POD_IPS["kube-dns"],
        },
        "kube-system-other": {
            "namespace": "kube-system",
            "labels": {"k8s-app": "metrics-server"},
            "ports": [{"name": "https", "port": 443, "protocol": "TCP"}],
            "ip": _SYSTEM_POD_IPS["kube-system-other"],
        },
        "default-pod": {
            "namespace": "default",
            "labels": {"app": "unrelated"},
            "ip": _SYSTEM_POD_IPS["default-pod"],
        },
        "external": {"ip": EXTERNAL_PROBE_IP},
    }


def _headline_expectations(tenant_pod: str) -> list[dict[str, Any]]:
    return [
        _expect("gateway", tenant_pod, REDIS_PORT, allowed=True),
        _expect(tenant_pod, "kube-dns", DNS_PORT, "UDP", allowed=True),
        _expect(tenant_pod, "kube-dns", DNS_PORT, "TCP", allowed=True),
        _expect(tenant_pod, "external", DNS_PORT, "UDP"),
        _expect(tenant_pod, "external", 443),
        _expect(tenant_pod, "kube-system-other", DNS_PORT, "UDP"),
        _expect(tenant_pod, "gateway", GATEWAY_HTTP_PORT),
        _expect("redis-system-other", tenant_pod, REDIS_PORT),
    ]


def _expect(
    source: str,
    destination: str,
    port: int,
    protocol: str = "TCP",
    allowed: bool = False,
) -> dict[str, Any]:
    return {
        "from": source,
        "to": destination,
        "port": port,
        "protocol": protocol,
        "allowed": allowed,
    }
