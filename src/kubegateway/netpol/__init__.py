"""NetworkPolicy evaluation: who can reach whom, computed from policy objects.

No CNI plugin runs where kubegateway is tested, so tenant isolation is proved
by evaluating the NetworkPolicy API semantics directly. ``parsing`` builds an
``Inventory`` from manifests, ``evaluating.Evaluator`` evaluates connection
queries, ``expectations`` checks declared outcomes and ``isolation`` defines
the operator's tenant isolation expectations.
"""

from kubegateway.netpol.evaluating import Evaluator, ReachabilityMatrix, Verdict
from kubegateway.netpol.expectations import (
    ExpectationResult,
    ExpectationSet,
    check_expectations,
    load_expectations,
    parse_expectations,
)
from kubegateway.netpol.isolation import (
    check_tenant_isolation,
    tenant_isolation_expectations,
)
from kubegateway.netpol.loading import load_cluster_manifests, load_manifest_files
from kubegateway.netpol.model import Endpoint, Inventory, NetworkPolicy, Protocol, Query
from kubegateway.netpol.parsing import build_inventory

__all__ = [
    "Endpoint",
    "Evaluator",
    "ExpectationResult",
    "ExpectationSet",
    "Inventory",
    "NetworkPolicy",
    "Protocol",
    "Query",
    "ReachabilityMatrix",
    "Verdict",
    "build_inventory",
    "check_expectations",
    "check_tenant_isolation",
    "load_cluster_manifests",
    "load_expectations",
    "load_manifest_files",
    "parse_expectations",
    "tenant_isolation_expectations",
]
