"""Prometheus metrics per tenant and instance, correct across worker processes.

The counts live in the system valkey (see ``usage``), so any worker can serve
``/metrics`` with the sum of all of them, and a removed tenant's series
disappear with its counters. Labels are tenant, instance, a command class
(read, write, rejected, none) and the status code: never a raw command name
or key, so cardinality is bounded by the number of instances.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from kubegateway.backends.base import TenantStore
from kubegateway.observability.usage import LATENCY_BUCKETS
from kubegateway.observability.usage_reading import UsageReader
from kubegateway.tenancy.plans import PlanCatalog


class TenantCollector(Collector):
    def __init__(self, store: TenantStore, plans: PlanCatalog, usage: UsageReader):
        self._store = store
        self._plans = plans
        self._usage = usage

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "kubegateway_requests",
            "Data-path requests by command class and HTTP status.",
            labels=["tenant", "instance", "command_class", "status"],
        )
        bytes_in = CounterMetricFamily(
            "kubegateway_request_bytes",
            "Request body bytes.",
            labels=["tenant", "instance"],
        )
        bytes_out = CounterMetricFamily(
            "kubegateway_response_bytes",
            "Response body bytes.",
            labels=["tenant", "instance"],
        )
        limited = CounterMetricFamily(
            "kubegateway_rate_limited_requests",
            "Requests rejected with 429 by the rate or connection limit.",
            labels=["tenant", "instance"],
        )
        latency: dict[tuple[str, str], dict[str, float]] = {}
        sums: dict[tuple[str, str], float] = {}
        for tenant, counters in self._usage.all_counters().items():
            for field, value in counters.items():
                kind, _, rest = field.partition("|")
                parts = rest.split("|")
                instance = parts[0]
                if kind == "requests" and len(parts) == 3:
                    requests.add_metric([tenant, instance, parts[1], parts[2]], value)
                elif kind == "bytes_in":
                    bytes_in.add_metric([tenant, instance], value)
                elif kind == "bytes_out":
                    bytes_out.add_metric([tenant, instance], value)
                elif kind == "rate_limited":
                    limited.add_metric([tenant, instance], value)
                elif kind == "latency_bucket" and len(parts) == 2:
                    latency.setdefault((tenant, instance), {})[parts[1]] = value
                elif kind == "latency_us_sum":
                    sums[(tenant, instance)] = value / 1e6
        yield requests
        yield bytes_in
        yield bytes_out
        yield limited
        yield self._histogram(latency, sums)
        yield from self._quota_gauges()

    def _histogram(
        self,
        latency: dict[tuple[str, str], dict[str, float]],
        sums: dict[tuple[str, str], float],
    ) -> Metric:
        family = HistogramMetricFamily(
            "kubegateway_request_duration_seconds",
            "Time from request to response inside the gateway.",
            labels=["tenant", "instance"],
        )
        for key, counts in latency.items():
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for bound in LATENCY_BUCKETS:
                cumulative += counts.get(str(bound), 0)
                buckets.append((str(bound), cumulative))
            cumulative += counts.get("inf", 0)
            buckets.append(("+Inf", cumulative))
            family.add_metric(list(key), buckets, sum_value=sums.get(key, 0.0))
        return family

    def _quota_gauges(self) -> Iterator[Metric]:
        usage = GaugeMetricFamily(
            "kubegateway_quota_used",
            "Quota in use by resource (instances, memory bytes, storage bytes).",
            labels=["tenant", "resource"],
        )
        limits = GaugeMetricFamily(
            "kubegateway_quota_limit",
            "Effective quota by resource.",
            labels=["tenant", "resource"],
        )
        for tenant in self._store.list_tenants():
            quota = self._plans.effective(tenant.plan, tenant.overrides)
            instances = self._store.list_instances(tenant.id)
            usage.add_metric([tenant.id, "instances"], len(instances))
            usage.add_metric([tenant.id, "memory"], sum(i.memory for i in instances))
            usage.add_metric(
                [tenant.id, "storage"], self._usage.storage_bytes(tenant.id)
            )
            limits.add_metric([tenant.id, "instances"], quota.max_instances)
            limits.add_metric([tenant.id, "memory"], quota.memory)
            limits.add_metric([tenant.id, "storage"], quota.storage)
            limits.add_metric(
                [tenant.id, "requests_per_minute"], quota.requests_per_minute
            )
        yield usage
        yield limits


def render(collector: TenantCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
