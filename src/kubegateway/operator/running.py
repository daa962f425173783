"""Start the operator: kopf settings, the lightkube client and the run loop.

The operator runs as one replica (``standalone``, no kopf peering objects),
so the Deployment in deploy/ uses the Recreate strategy. kopf keeps its
progress and last-handled state in annotations under this project's group,
because the CRD schemas prune unknown status fields.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

import kopf
from lightkube import Client, KubeConfig

from kubegateway.backends.kubernetes.resources import GROUP, OPERATOR_FIELD_MANAGER
from kubegateway.operator.handlers import build_registry

FINALIZER = f"{GROUP}/finalizer"
ANNOTATION_PREFIX = f"kopf.{GROUP}"


def make_client(kubeconfig: Path | None) -> Client:
    """Return a lightkube client from a kubeconfig file or the pod's account."""
    config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    return Client(config=config, field_manager=OPERATOR_FIELD_MANAGER, trust_env=False)


def configure(settings: kopf.OperatorSettings) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.networking.request_timeout = 30
    settings.watching.server_timeout = 300
    settings.networking.connect_timeout = 10


def run(
    kubeconfig: Path | None,
    stop_flag: threading.Event | None = None,
    ready_flag: threading.Event | None = None,
    liveness_endpoint: str | None = None,
) -> None:
    """Run the operator until it is stopped (SIGTERM or ``stop_flag``)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request of lightkube at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if kubeconfig is not None:
        # kopf's own login reads KUBECONFIG; lightkube gets the path directly.
        os.environ["KUBECONFIG"] = str(kubeconfig)
    client = make_client(kubeconfig)
    registry = build_registry()
    settings = kopf.OperatorSettings()
    configure(settings)
    memo: Any = kopf.Memo(client=client)
    try:
        asyncio.run(
            kopf.operator(
                registry=registry,
                settings=settings,
                clusterwide=True,
                standalone=True,
                memo=memo,
                stop_flag=stop_flag,
                ready_flag=ready_flag,
                liveness_endpoint=liveness_endpoint,
            )
        )
    finally:
        client.close()
