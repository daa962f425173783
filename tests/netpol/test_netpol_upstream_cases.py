"""Run the evaluator over the upstream Kubernetes NetworkPolicy e2e cases.

Each file under upstream/cases restates the policies and the expected 9x9
reachability of one step of an upstream e2e test (see upstream/README.md).
The evaluator must reproduce every off-diagonal cell.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubegateway.netpol.evaluating import Evaluator
from kubegateway.netpol.loading import load_manifest_files
from kubegateway.netpol.model import Protocol
from kubegateway.netpol.parsing import build_inventory

UPSTREAM_DIR = Path(__file__).parent / "upstream"
CASE_FILES = sorted((UPSTREAM_DIR / "cases").glob("*.yaml"))
PODS = [f"{namespace}/{pod}" for namespace in "xyz" for pod in "abc"]


def _peer_matches(pattern: str, pod: str) -> bool:
    if pattern == "*":
        return True
    namespace, name = pod.split("/")
    pattern_namespace, pattern_name = pattern.split("/")
    return pattern_namespace == namespace and pattern_name in ("*", name)


def _expected_cells(probe: dict[str, Any]) -> dict[tuple[str, str], bool]:
    if "matrix" in probe:
        cells = {}
        for source, row in probe["matrix"].items():
            marks = row.split()
            assert len(marks) == len(PODS), (
                f"matrix row {source} needs {len(PODS)} marks"
            )
            for destination, mark in zip(PODS, marks, strict=True):
                assert mark in (".", "X"), f"matrix mark {mark!r} is not '.' or 'X'"
                cells[(source, destination)] = mark == "."
        return cells
    cells = {
        (source, destination): probe["default"]
        for source in PODS
        for destination in PODS
    }
    for override in probe["overrides"]:
        for source in PODS:
            for destination in PODS:
                if _peer_matches(override["from"], source) and _peer_matches(
                    override["to"], destination
                ):
                    cells[(source, destination)] = override["allowed"]
    return cells


def _case_manifests(case: dict[str, Any]) -> list[dict[str, Any]]:
    manifests = copy.deepcopy(load_manifest_files([UPSTREAM_DIR / "model.yaml"]))
    namespace_labels = case.get("namespace_labels") or {}
    pod_labels = case.get("pod_labels") or {}
    for manifest in manifests:
        metadata = manifest["metadata"]
        if manifest["kind"] == "Namespace" and metadata["name"] in namespace_labels:
            metadata["labels"].update(namespace_labels[metadata["name"]])
        if manifest["kind"] == "Pod":
            key = f"{metadata['namespace']}/{metadata['name']}"
            if key in pod_labels:
                metadata["labels"].update(pod_labels[key])
    return manifests + list(case["policies"])


def test_upstream_case_count() -> None:
    assert len(CASE_FILES) >= 30


@pytest.mark.parametrize(
    "case_path", CASE_FILES, ids=[path.stem for path in CASE_FILES]
)
def test_upstream_case(case_path: Path) -> None:
    text = case_path.read_text(encoding="utf-8")
    first_line = text.splitlines()[0]
    assert first_line.startswith("# Upstream test: "), (
        "first line must name the upstream test"
    )
    case = yaml.safe_load(text)
    inventory = build_inventory(_case_manifests(case))
    endpoints = [inventory.endpoint(name) for name in PODS]
    assert all(endpoint is not None for endpoint in endpoints)
    evaluator = Evaluator(inventory)

    for probe in case["probes"]:
        protocol = Protocol(probe["protocol"])
        matrix = evaluator.matrix(
            [endpoint for endpoint in endpoints if endpoint is not None],
            probe["port"],
            protocol,
        )
        expected = _expected_cells(probe)
        mismatches = []
        for source in PODS:
            for destination in PODS:
                if source == destination:
                    continue  # Loopback is not compared, as upstream does.
                actual = matrix.allowed(source, destination)
                if actual != expected[(source, destination)]:
                    wanted = "allowed" if expected[(source, destination)] else "blocked"
                    got = "allowed" if actual else "blocked"
                    mismatches.append(
                        f"{source} -> {destination}: expected {wanted}, got {got}"
                    )
        assert not mismatches, (
            f"{first_line[2:]} on {probe['port']}/{protocol.value}:\n"
            + "\n".join(mismatches)
        )
