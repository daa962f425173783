"""A RedisHttpInstance's StatefulSet, Service and credentials Secret.

The Secret carries the ACL passwords and the whole ``valkey.conf``, because
the configuration contains the passwords. A hash of the configuration is an
annotation of the pod template, so a change of memory or passwords rolls
the pod. The pod meets the ``restricted`` Pod Security Standard that the
tenant namespace enforces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from kubegateway.backends.embedded.valkey import (
    ADMIN_USER,
    READ_ONLY_USER,
    READ_WRITE_USER,
    memory_limit_lines,
)
from kubegateway.backends.kubernetes.resources import (
    COMPONENT_LABEL,
    CREDENTIALS_COMPONENT,
    INSTANCE_LABEL,
    NAME_LABEL,
    REDIS_PORT,
    credentials_secret_name,
)
from kubegateway.backends.kubernetes.specs import InstanceSpec
from kubegateway.operator.labelling import namespaced_metadata
from kubegateway.protocol.commands import ACL_RULES_READ_ONLY, ACL_RULES_READ_WRITE

CONFIG_KEY = "valkey.conf"
CONFIG_DIR = "/etc/valkey"
DATA_DIR = "/data"
CONFIG_HASH_ANNOTATION = "redis.kubegateway.io/config-sha256"
# The uid and gid of the valkey user in the official valkey/valkey images.
VALKEY_UID = 999
SERVER_APP = "valkey"
# valkey's maxmemory covers the dataset only. The rest of the container
# limit is left for the process itself, client buffers and the fork of an
# AOF rewrite. 3/4 is a rule of thumb, not a measured value.
MAXMEMORY_NUMERATOR, MAXMEMORY_DENOMINATOR = 3, 4
EPHEMERAL_DATA_LIMIT = "256Mi"


def maxmemory_for(memory: int) -> int:
    return memory * MAXMEMORY_NUMERATOR // MAXMEMORY_DENOMINATOR


def valkey_config(instance: InstanceSpec, passwords: Mapping[str, str]) -> str:
    """Render valkey.conf; ACL rules are those of the embedded servers."""
    lines = [
        f"port {REDIS_PORT}",
        "bind * -::*",
        "protected-mode no",
        f"dir {DATA_DIR}",
        "daemonize no",
        'logfile ""',
        f"appendonly {'yes' if instance.persistence else 'no'}",
        "appendfsync everysec",
        'save ""',
        *memory_limit_lines(maxmemory_for(instance.memory)),
        "user default off",
        f"user {ADMIN_USER} on >{passwords[ADMIN_USER]} ~* &* +@all",
        f"user {READ_WRITE_USER} on >{passwords[READ_WRITE_USER]} "
        + ACL_RULES_READ_WRITE,
        f"user {READ_ONLY_USER} on >{passwords[READ_ONLY_USER]} " + ACL_RULES_READ_ONLY,
    ]
    return "\n".join(lines) + "\n"


def config_hash(config: str) -> str:
    return hashlib.sha256(config.encode()).hexdigest()


def server_labels(instance: InstanceSpec) -> dict[str, str]:
    return {NAME_LABEL: SERVER_APP, INSTANCE_LABEL: instance.name}


def build_credentials_secret(
    instance: InstanceSpec,
    passwords: Mapping[str, str],
    owner: Mapping[str, Any],
) -> dict[str, Any]:
    metadata = namespaced_metadata(
        instance.tenant,
        credentials_secret_name(instance.name),
        {INSTANCE_LABEL: instance.name, COMPONENT_LABEL: CREDENTIALS_COMPONENT},
    )
    metadata["ownerReferences"] = [dict(owner)]
    string_data = {user: passwords[user] for user in _USERS}
    string_data[CONFIG_KEY] = valkey_config(instance, passwords)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "stringData": string_data,
    }


_USERS = (ADMIN_USER, READ_WRITE_USER, READ_ONLY_USER)


def build_service(instance: InstanceSpec, owner: Mapping[str, Any]) -> dict[str, Any]:
    metadata = namespaced_metadata(
        instance.tenant, instance.name, {INSTANCE_LABEL: instance.name}
    )
    metadata["ownerReferences"] = [dict(owner)]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": server_labels(instance),
            "ports": [
                {
                    "name": "redis",
                    "port": REDIS_PORT,
                    "targetPort": "redis",
                    "protocol": "TCP",
                }
            ],
        },
    }


def _container(instance: InstanceSpec) -> dict[str, Any]:
    resources = {
        "requests": {"cpu": f"{instance.cpu}m", "memory": str(instance.memory)},
        "limits": {"memory": str(instance.memory)},
    }
    if not instance.persistence:
        resources["requests"]["ephemeral-storage"] = "64Mi"
        resources["limits"]["ephemeral-storage"] = EPHEMERAL_DATA_LIMIT
    probe = {"tcpSocket": {"port": "redis"}, "periodSeconds": 10}
    return {
        "name": "valkey",
        "image": instance.image,
        "command": ["valkey-server", f"{CONFIG_DIR}/{CONFIG_KEY}"],
        "ports": [{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "resources": resources,
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 15, "failureThreshold": 6},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": VALKEY_UID,
            "runAsGroup": VALKEY_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
        ],
    }


def build_statefulset(
    instance: InstanceSpec,
    config_sha256: str,
    replicas: int,
    owner: Mapping[str, Any],
) -> dict[str, Any]:
    """Build the StatefulSet; ``replicas`` is 0 while the tenant is suspended."""
    metadata = namespaced_metadata(
        instance.tenant, instance.name, {INSTANCE_LABEL: instance.name}
    )
    metadata["ownerReferences"] = [dict(owner)]
    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "secret": {
                "secretName": credentials_secret_name(instance.name),
                "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}],
                "defaultMode": 0o440,
            },
        }
    ]
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": instance.name,
        "selector": {"matchLabels": server_labels(instance)},
        "template": {
            "metadata": {
                "labels": server_labels(instance),
                "annotations": {CONFIG_HASH_ANNOTATION: config_sha256},
            },
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {
                    "runAsNonRoot": True,
                    "fsGroup": VALKEY_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [_container(instance)],
                "volumes": volumes,
            },
        },
    }
    if instance.persistence:
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": str(instance.storage)}},
                },
            }
        ]
        spec["persistentVolumeClaimRetentionPolicy"] = {
            "whenDeleted": "Delete",
            "whenScaled": "Retain",
        }
    else:
        volumes.append(
            {"name": "data", "emptyDir": {"sizeLimit": EPHEMERAL_DATA_LIMIT}}
        )
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata,
        "spec": spec,
    }
