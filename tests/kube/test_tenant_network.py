"""Tenant isolation computed from the NetworkPolicies stored in the API server.

No CNI enforces policies here, so the policies and namespaces that the
operator created are read back from the real API server, probe pods are
added, and the NetworkPolicy evaluator computes who reaches whom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.core_v1 import Namespace
from lightkube.resources.networking_v1 import NetworkPolicy
from typer.testing import CliRunner

from kubegateway.netpol.cli import app as netpol_app
from kubegateway.netpol.isolation import (
    check_tenant_isolation,
    tenant_isolation_expectations,
)
from tests.kube.controlplane import ControlPlane

pytestmark = pytest.mark.kube


def stored_objects(client: Client, namespaces: list[str]) -> list[dict[str, Any]]:
    manifests: list[dict[str, Any]] = []
    for name in namespaces:
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                **_body(client.get(Namespace, name)),
            }
        )
        for policy in client.list(NetworkPolicy, namespace=name):
            manifests.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    **_body(policy),
                }
            )
    return manifests


def _body(obj: Any) -> dict[str, Any]:
    body: dict[str, Any] = obj.to_dict()
    body.pop("apiVersion", None)
    body.pop("kind", None)
    return body


def test_tenants_isolated_per_evaluator(
    kube_client: Client, tenant_pair: tuple[str, str]
) -> None:
    manifests = stored_objects(kube_client, ["tenant-a", "tenant-b"])
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    assert len(policies) == 8
    namespace_labels = {
        m["metadata"]["name"]: m["metadata"]["labels"]
        for m in manifests
        if m["kind"] == "Namespace"
    }
    # The API server sets this label; the policies of other tenants select on it.
    assert namespace_labels["tenant-a"]["kubernetes.io/metadata.name"] == "tenant-a"

    results = check_tenant_isolation(manifests, list(tenant_pair))

    failed = [result for result in results if not result.passed]
    assert failed == []
    assert len(results) > 20


def test_isolation_check_fails_without_default_deny(
    kube_client: Client, tenant_pair: tuple[str, str]
) -> None:
    manifests = [
        m
        for m in stored_objects(kube_client, ["tenant-a", "tenant-b"])
        if m["metadata"]["name"] not in ("default-deny", "allow-dns-egress")
    ]

    results = check_tenant_isolation(manifests, list(tenant_pair))

    assert any(not result.passed for result in results)


def test_netpol_cli_from_cluster_passes(
    control_plane: ControlPlane, tenant_pair: tuple[str, str], tmp_path: Path
) -> None:
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text(
        yaml.safe_dump(tenant_isolation_expectations(list(tenant_pair)))
    )

    result = CliRunner().invoke(
        netpol_app,
        [
            "check",
            "--from-cluster",
            "--kubeconfig",
            str(control_plane.kubeconfig_path),
            "--expectations",
            str(expectations),
            "--output",
            "json",
        ],
    )

    assert result.exit_code == 0, result.output
    summary = yaml.safe_load(result.output)["expectations"]
    assert summary["failed"] == 0
    assert summary["total"] > 20
