"""The install manifests render, pass server-side dry-run and grant little.

Both the kustomize base and the Helm chart are rendered with the real
tools and sent to the API server with ``dryRun=All``, which runs schema
validation and admission (including Pod Security on redis-system) without
storing anything.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.resources.core_v1 import Namespace

from tests.kube.controlplane import cache_bin_dir
from tests.kube.support import CRD_DIR, HELM_CHART_DIR, KUSTOMIZE_DIR, load_documents

pytestmark = pytest.mark.kube

KUBECTL = Path("/usr/bin/kubectl")


def render_kustomize() -> list[dict[str, Any]]:
    if not KUBECTL.exists():
        pytest.skip("kubectl is not installed")
    output = subprocess.run(
        [str(KUBECTL), "kustomize", str(KUSTOMIZE_DIR)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def render_helm() -> list[dict[str, Any]]:
    helm = cache_bin_dir() / "helm"
    if not helm.exists():
        pytest.fail(f"{helm} is missing; build it with hack/kube/build.sh")
    output = subprocess.run(
        [str(helm), "template", "kubegateway", str(HELM_CHART_DIR), "--include-crds"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


RENDERERS = {"kustomize": render_kustomize, "helm": render_helm}


def kinds(documents: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(doc["kind"], doc["metadata"]["name"]) for doc in documents}


EXPECTED = {
    ("CustomResourceDefinition", "tenants.redis.kubegateway.io"),
    ("CustomResourceDefinition", "redishttpinstances.redis.kubegateway.io"),
    ("Namespace", "redis-system"),
    ("ServiceAccount", "kubegateway-operator"),
    ("ServiceAccount", "kubegateway-gateway"),
    ("ClusterRole", "kubegateway-operator"),
    ("ClusterRole", "kubegateway-gateway"),
    ("ClusterRoleBinding", "kubegateway-operator"),
    ("ClusterRoleBinding", "kubegateway-gateway"),
    ("Deployment", "kubegateway-operator"),
    ("Deployment", "kubegateway-gateway"),
    ("Service", "kubegateway-gateway"),
    ("NetworkPolicy", "kubegateway-gateway"),
}


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_render_contains_every_object(tool: str) -> None:
    documents = RENDERERS[tool]()

    assert kinds(documents) == EXPECTED
    gateway = next(
        d
        for d in documents
        if (d["kind"], d["metadata"]["name"]) == ("Deployment", "kubegateway-gateway")
    )
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "kubegateway-gateway"
    assert gateway["metadata"]["namespace"] == "redis-system"


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_cluster_roles_least_privilege(tool: str) -> None:
    roles = [d for d in RENDERERS[tool]() if d["kind"] == "ClusterRole"]

    for role in roles:
        for rule in role["rules"]:
            for key in ("verbs", "resources", "apiGroups"):
                assert "*" not in rule.get(key, []), (role["metadata"]["name"], rule)
            assert "escalate" not in rule["verbs"]
            assert "bind" not in rule["verbs"]
            assert "impersonate" not in rule["verbs"]
            assert "nonResourceURLs" not in rule
    gateway = next(r for r in roles if r["metadata"]["name"] == "kubegateway-gateway")
    gateway_resources = {res for rule in gateway["rules"] for res in rule["resources"]}
    assert gateway_resources == {"tenants", "redishttpinstances", "secrets"}


def test_helm_crds_match_deploy_crds() -> None:
    chart_crds = load_documents(HELM_CHART_DIR / "crds")
    assert chart_crds == load_documents(CRD_DIR)


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_server_side_dry_run_accepts_render(
    kube_client: Client, crds: None, tool: str
) -> None:
    documents = RENDERERS[tool]()
    # redis-system must exist for dry-run of the namespaced objects, because
    # a dry-run Namespace is not stored. The operator fixture may have made it.
    kube_client.apply(
        Namespace.from_dict({"metadata": {"name": "redis-system"}}),
        field_manager="kubegateway-tests",
    )
    accepted = []
    for document in documents:
        obj = codecs.from_dict(document)
        kube_client.apply(
            obj, field_manager=f"dry-run-{tool}", force=True, dry_run=True
        )
        accepted.append((document["kind"], document["metadata"]["name"]))
    assert set(accepted) == EXPECTED
