"""Server-side apply of manifest dicts with the operator's field manager.

Apply is forced: when a person or another controller changed a field that
the operator owns, the operator takes it back, which is how drift of the
quota, the Role or a NetworkPolicy gets corrected. Fields that the
operator never sets are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lightkube import ApiError, Client, codecs

from kubegateway.backends.kubernetes.resources import OPERATOR_FIELD_MANAGER


def apply(client: Client, manifest: Mapping[str, Any]) -> Any:
    """Apply one manifest and return the object the API server stored."""
    resource = codecs.from_dict(dict(manifest))
    return client.apply(resource, field_manager=OPERATOR_FIELD_MANAGER, force=True)


def apply_all(client: Client, manifests: Iterable[Mapping[str, Any]]) -> None:
    for manifest in manifests:
        apply(client, manifest)


def is_not_found(error: ApiError) -> bool:
    return error.status.code == 404
