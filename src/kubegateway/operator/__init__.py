"""The Kubernetes operator: reconciles Tenants and RedisHttpInstances.

Object builders (``namespaces``, ``rbac``, ``quotas``, ``network_policies``,
``instances``) are pure functions from a parsed spec to manifest dicts, so
they can be unit tested and rendered without a cluster. ``handlers`` wires
them to kopf and applies them with server-side apply (``applying``).
"""
