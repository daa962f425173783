"""The tenant's NetworkPolicies: default deny, then narrow allows.

* ``default-deny``: every pod, both directions, no rules.
* ``allow-gateway``: ingress from gateway pods in ``redis-system`` on TCP
  6379. The namespace and pod selectors sit in ONE peer, which means AND;
  two peers would admit every pod of redis-system and every pod labelled as
  the gateway in any namespace.
* ``allow-same-namespace``: pods of the tenant reach each other.
* ``allow-dns-egress``: DNS to kube-dns pods in kube-system only, UDP and
  TCP 53 (TCP carries large answers). An empty ``to`` would allow any DNS
  server, including one outside the cluster.
* ``allow-monitoring`` (optional): ingress from one monitoring namespace on
  one port.

Namespaces are selected by ``kubernetes.io/metadata.name``, which the API
server sets and tenants cannot change. Enforcement needs a CNI plugin that
implements NetworkPolicy; host-network pods are not covered.
"""

from __future__ import annotations

from typing import Any

from kubegateway.backends.kubernetes.resources import (
    GATEWAY_APP,
    NAME_LABEL,
    NAMESPACE_NAME_LABEL,
    REDIS_PORT,
    SYSTEM_NAMESPACE,
)
from kubegateway.backends.kubernetes.specs import TenantSpec
from kubegateway.operator.labelling import namespaced_metadata

DNS_PORT = 53
DEFAULT_DENY = "default-deny"
ALLOW_GATEWAY = "allow-gateway"
ALLOW_SAME_NAMESPACE = "allow-same-namespace"
ALLOW_DNS = "allow-dns-egress"
ALLOW_MONITORING = "allow-monitoring"
POLICY_NAMES = (DEFAULT_DENY, ALLOW_GATEWAY, ALLOW_SAME_NAMESPACE, ALLOW_DNS)


def _policy(tenant: TenantSpec, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": namespaced_metadata(tenant.id, name),
        "spec": {"podSelector": {}, **spec},
    }


def _namespace(name: str) -> dict[str, Any]:
    return {"matchLabels": {NAMESPACE_NAME_LABEL: name}}


def build_network_policies(tenant: TenantSpec) -> list[dict[str, Any]]:
    policies = [
        _policy(tenant, DEFAULT_DENY, {"policyTypes": ["Ingress", "Egress"]}),
        _policy(
            tenant,
            ALLOW_GATEWAY,
            {
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": _namespace(SYSTEM_NAMESPACE),
                                "podSelector": {
                                    "matchLabels": {NAME_LABEL: GATEWAY_APP}
                                },
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": REDIS_PORT}],
                    }
                ],
            },
        ),
        _policy(
            tenant,
            ALLOW_SAME_NAMESPACE,
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
        _policy(
            tenant,
            ALLOW_DNS,
            {
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": _namespace("kube-system"),
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [
                            {"protocol": "UDP", "port": DNS_PORT},
                            {"protocol": "TCP", "port": DNS_PORT},
                        ],
                    }
                ],
            },
        ),
    ]
    monitoring = tenant.network.monitoring_namespace
    if monitoring:
        policies.append(
            _policy(
                tenant,
                ALLOW_MONITORING,
                {
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"namespaceSelector": _namespace(monitoring)}],
                            "ports": [
                                {
                                    "protocol": "TCP",
                                    "port": tenant.network.monitoring_port,
                                }
                            ],
                        }
                    ],
                },
            )
        )
    return policies
