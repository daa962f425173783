"""The ``netpol check`` command: output formats, exit status and cluster input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kubegateway.netpol.cli import app
from kubegateway.netpol.isolation import tenant_isolation_expectations

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


# Reading from a cluster is tested against a real kube-apiserver in
# tests/kube/test_tenant_network.py.
