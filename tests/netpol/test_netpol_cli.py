"""The ``netpol check`` command: output formats, exit status and cluster input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import lightkube
import pytest
import yaml
from typer.testing import CliRunner

from kubegateway.netpol.cli import app
from kubegateway.netpol.isolation import tenant_isolation_expectations
from kubegateway.netpol.loading import load_cluster_manifests

OPERATOR_POLICIES = Path(__file__).parent / "operator" / "tenant-policies.yaml"
runner = CliRunner()


@pytest.fixture
def expectations_file(tmp_path: Path) -> Path:
    path = tmp_path / "expectations.yaml"
    path.write_text(yaml.safe_dump(tenant_isolation_expectations(["a", "b"])))
    return path


def test_check_passes_on_operator_policies(expectations_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            "-f",
            str(OPERATOR_POLICIES),
            "--expectations",
            str(expectations_file),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Reachability on 6379/TCP" in result.output
    assert "0 failed" in result.output


def test_check_fails_on_leaking_policy(tmp_path: Path, expectations_file: Path) -> None:
    broken = OPERATOR_POLICIES.read_text().replace(
        "          port: 6379\n",
        "          port: 6379\n        - protocol: TCP\n          port: 8080\n",
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    result = runner.invoke(
        app, ["check", "-f", str(path), "--expectations", str(expectations_file)]
    )
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output


def test_check_json_output(expectations_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            "-f",
            str(OPERATOR_POLICIES),
            "--expectations",
            str(expectations_file),
            "--port",
            "6379",
            "--port",
            "53/udp",
            "--output",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(m["port"], m["protocol"]) for m in report["matrices"]] == [
        (6379, "TCP"),
        (53, "UDP"),
    ]
    matrix = report["matrices"][0]["allowed"]
    assert matrix["gateway"]["tenant-a"] is True
    assert matrix["tenant-a"]["tenant-b"] is False
    assert report["expectations"]["failed"] == 0
    assert report["expectations"]["total"] == len(report["expectations"]["results"])


def test_check_without_expectations(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["check", "-f", str(OPERATOR_POLICIES), "--port", "6379"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["check"], "no input"),
        (["check", "-f", "/nonexistent/policies.yaml"], "file not found"),
        (
            ["check", "-f", str(OPERATOR_POLICIES), "--output", "xml"],
            "invalid --output",
        ),
        (["check", "-f", str(OPERATOR_POLICIES), "--port", "http"], "invalid --port"),
        (
            ["check", "--kubeconfig", "/nonexistent/kubeconfig"],
            "kubeconfig file not found",
        ),
    ],
)
def test_check_bad_input_exits_2(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_check_invalid_policy_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: NetworkPolicy\nmetadata: {name: bad, namespace: x}\n"
        "spec:\n  podSelector: {}\n  ingress:\n    - from: [{}]\n"
    )
    result = runner.invoke(app, ["check", "-f", str(path)])
    assert result.exit_code == 2
    assert "NetworkPolicy x/bad: spec.ingress[0].from[0]" in result.output


def test_check_unknown_expectation_endpoint_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text(
        "expect:\n  - {from: nowhere, to: tenant-a, port: 6379, allowed: false}\n"
    )
    result = runner.invoke(
        app, ["check", "-f", str(OPERATOR_POLICIES), "--expectations", str(path)]
    )
    assert result.exit_code == 2
    assert "unknown endpoint 'nowhere'" in result.output


# Cluster input, served by an in-process httpx2 transport (no network).

CLUSTER_OBJECTS: dict[str, list[dict[str, Any]]] = {
    "/api/v1/namespaces": [
        {"metadata": {"name": "app", "labels": {"kubernetes.io/metadata.name": "app"}}}
    ],
    "/api/v1/pods": [
        {
            "metadata": {"name": "web", "namespace": "app", "labels": {"role": "web"}},
            "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": "10.1.0.1"},
        },
        {
            "metadata": {"name": "db", "namespace": "app", "labels": {"role": "db"}},
            "spec": {
                "containers": [{"name": "db", "ports": [{"containerPort": 5432}]}]
            },
            "status": {"phase": "Running", "podIP": "10.1.0.2"},
        },
    ],
    "/apis/networking.k8s.io/v1/networkpolicies": [
        {
            "metadata": {"name": "db-from-web", "namespace": "app"},
            "spec": {
                "podSelector": {"matchLabels": {"role": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"role": "web"}}}]}
                ],
            },
        }
    ],
}


def _api_handler(request: httpx2.Request) -> httpx2.Response:
    items = CLUSTER_OBJECTS.get(request.url.path)
    if items is None:
        return httpx2.Response(404, json={"kind": "Status", "message": "not found"})
    body = {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}
    return httpx2.Response(200, json=body)


REAL_CLIENT = lightkube.Client
KUBECONFIG = {
    "clusters": [{"name": "local", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "tester", "user": {"token": "test-token"}}],
    "contexts": [{"name": "local", "context": {"cluster": "local", "user": "tester"}}],
    "current-context": "local",
}


def _mock_client(*args: Any, **kwargs: Any) -> lightkube.Client:
    return REAL_CLIENT(
        config=lightkube.KubeConfig.from_dict(KUBECONFIG),
        transport=httpx2.MockTransport(_api_handler),
    )


def test_load_cluster_manifests_through_lightkube() -> None:
    with _mock_client() as client:
        manifests = load_cluster_manifests(client)
    kinds = sorted(manifest["kind"] for manifest in manifests)
    assert kinds == ["Namespace", "NetworkPolicy", "Pod", "Pod"]
    policy = next(m for m in manifests if m["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"role": "db"}}


def test_check_from_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lightkube, "Client", _mock_client)
    result = runner.invoke(
        app, ["check", "--from-cluster", "--port", "5432", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    allowed = json.loads(result.stdout)["matrices"][0]["allowed"]
    assert allowed["app/web"]["app/db"] is True
    assert allowed["app/db"]["app/web"] is True
    assert allowed["app/db"]["app/db"] is False
