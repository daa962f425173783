"""Kubernetes backend: tenants and instances as custom resources.

Shared by the operator, which turns the custom resources into namespaces,
RBAC, quotas, network policies and StatefulSets, and by the gateway, which
reads them through a watch-fed cache.
"""
