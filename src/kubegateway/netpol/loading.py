"""Reading manifests from YAML files and from a live cluster.

Both sources produce the same thing, a list of plain manifest dicts, which
``parsing.build_inventory`` turns into an ``Inventory``. Files may hold
several YAML documents and ``kind: List`` objects, as ``kubectl get -o yaml``
writes them. The cluster path lists NetworkPolicies, Namespaces and Pods in
all namespaces through a ``lightkube.Client``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from kubegateway.netpol.errors import InvalidManifest

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def load_manifest_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Read every YAML document from ``paths``.

    A directory contributes its ``*.yaml``, ``*.yml`` and ``*.json`` files,
    searched recursively and read in sorted order. Empty documents are
    skipped. ``List`` objects are returned as they are and flattened later.
    """
    manifests: list[dict[str, Any]] = []
    for path in paths:
        for file_path in _expand(path):
            manifests.extend(_read_documents(file_path))
    return manifests


def load_cluster_manifests(client: Any) -> list[dict[str, Any]]:
    """List NetworkPolicies, Namespaces and Pods through a ``lightkube.Client``.

    ``client`` is typed loosely so tests can pass a stand-in with the same
    ``list`` method. Objects are converted with ``to_dict()``; the API server
    omits empty lists, which keeps the same meaning (``ingress`` missing and
    ``ingress: []`` both allow nothing).
    """
    from lightkube.resources.core_v1 import Namespace, Pod
    from lightkube.resources.networking_v1 import NetworkPolicy

    manifests: list[dict[str, Any]] = []
    for resource, kind, namespaced in (
        (Namespace, "Namespace", False),
        (Pod, "Pod", True),
        (NetworkPolicy, "NetworkPolicy", True),
    ):
        objects = (
            client.list(resource, namespace="*")
            if namespaced
            else client.list(resource)
        )
        for obj in objects:
            manifest = obj.to_dict()
            # List responses do not repeat kind and apiVersion on each item.
            manifest.setdefault("kind", kind)
            manifests.append(manifest)
    return manifests


def _expand(path: Path) -> Iterator[Path]:
    if path.is_dir():
        found = sorted(
            candidate
            for candidate in path.rglob("*")
            if candidate.is_file() and candidate.suffix in MANIFEST_SUFFIXES
        )
        if not found:
            raise InvalidManifest(
                f"{path}: directory contains no .yaml, .yml or .json files"
            )
        yield from found
    elif path.is_file():
        yield path
    else:
        raise InvalidManifest(f"{path}: file not found")


def _read_documents(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidManifest(f"{path}: cannot read file: {error}") from error
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise InvalidManifest(f"{path}: invalid YAML: {error}") from error
    manifests = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            raise InvalidManifest(
                f"{path}: document {index + 1} is not a mapping "
                f"(got {type(document).__name__})"
            )
        manifests.append(dict(document))
    return manifests
