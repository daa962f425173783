"""The embedded reconciler: makes running valkey processes match the SQLite state.

The admin API only writes desired state (an instance in phase Pending, a
tenant in phase Terminating). This loop, running in the ``kubegateway up``
process, starts, restarts and removes the real processes and records the
outcome, the way an operator does on Kubernetes. Keeping all process control
here means gateway workers can come and go without touching valkey.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from kubegateway.backends.embedded.valkey import (
    ServerSpec,
    ValkeyProcess,
    free_port,
    new_passwords,
)
from kubegateway.backends.sqlite_store import SqliteStore
from kubegateway.ids import InstanceId, TenantId
from kubegateway.tenancy.models import Instance, InstancePhase, TenantPhase

log = structlog.get_logger("kubegateway.supervisor")

TICK_SECONDS = 0.1
STORAGE_INTERVAL_SECONDS = 2.0
# Hash in the system valkey: tenant id -> bytes of data files on disk.
STORAGE_KEY = b"storage"
MAX_BACKOFF_SECONDS = 10.0
HEALTHY_AFTER_SECONDS = 60.0
# Failure injection for tests of half-finished onboarding; empty in production.
FAULTS_ENV = "KUBEGATEWAY_INJECT_FAULTS"


def instance_directory(data_dir: Path, tenant: str, instance: str) -> Path:
    return data_dir / "instances" / tenant / instance


@dataclass
class _Supervised:
    process: ValkeyProcess
    restarts: int = 0
    next_start: float = 0.0
    failures: int = field(default=0)


class Supervisor:
    """Reconciles instances in a background thread until ``stop`` is called."""

    def __init__(
        self,
        store: SqliteStore,
        data_dir: Path,
        appendfsync: str = "everysec",
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        self._data_dir = data_dir
        self._appendfsync = appendfsync
        self._faults = faults
        self._servers: dict[tuple[TenantId, InstanceId], _Supervised] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.system: ValkeyProcess | None = None
        self.system_ready = threading.Event()
        self.system_error: str | None = None
        self._system_next_start = 0.0

    # Thread control

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="supervisor", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        # Child processes are started from this thread, and Linux ties their
        # parent-death signal to it, so it lives until they are all stopped.
        try:
            self._start_system()
        except Exception as error:
            self.system_error = str(error)
            log.error("System valkey failed to start.", error=str(error))
            self.system_ready.set()
            return
        self.system_ready.set()
        measured = 0.0
        while not self._stop.is_set():
            try:
                self._ensure_system()
                self.reconcile()
                if time.monotonic() - measured > STORAGE_INTERVAL_SECONDS:
                    measured = time.monotonic()
                    self.measure_storage()
            except Exception as error:  # keep supervising; log and retry
                log.exception("Reconcile failed; retrying.", error=str(error))
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
        self._stop_all()

    def _start_system(self) -> None:
        spec = ServerSpec(
            name="system",
            directory=self._data_dir / "system",
            port=free_port(),
            passwords=new_passwords(),
            maxmemory=256 * 2**20,
            appendfsync=self._appendfsync,
        )
        self.system = ValkeyProcess(spec)
        self.system.start()
        self.system.wait_ready()
        log.info("System valkey started.", port=spec.port, pid=self.system.pid)

    def _ensure_system(self) -> None:
        """Restart the system valkey on its port if it died.

        Workers reconnect on their next request, and the counters come back
        from its AOF file.
        """
        system = self.system
        if system is None or system.running():
            return
        now = time.monotonic()
        if now < self._system_next_start:
            return
        log.warning("System valkey exited; restarting.", exit_code=system.exit_code())
        restarted = ValkeyProcess(system.spec)
        try:
            restarted.start()
            restarted.wait_ready()
        except RuntimeError as error:
            restarted.stop()
            self._system_next_start = now + MAX_BACKOFF_SECONDS
            log.error("System valkey failed to restart.", error=str(error))
            return
        self.system = restarted
        log.info("System valkey restarted.", port=system.spec.port, pid=restarted.pid)

    def _stop_all(self) -> None:
        for (tenant, instance), supervised in list(self._servers.items()):
            supervised.process.stop()
            log.info("Valkey stopped.", tenant=tenant, instance=instance)
        self._servers.clear()
        if self.system is not None:
            self.system.stop()
            log.info("System valkey stopped.")

    # Reconciliation

    def reconcile(self) -> None:
        tenants = {tenant.id: tenant for tenant in self._store.list_tenants()}
        instances = self._store.list_instances()
        desired = set()
        for instance in instances:
            key = (instance.tenant, instance.id)
            tenant = tenants.get(instance.tenant)
            terminating = tenant is None or tenant.phase == TenantPhase.TERMINATING
            if instance.phase == InstancePhase.TERMINATING or terminating:
                self._remove(instance)
                continue
            desired.add(key)
            self._ensure_running(instance)
        for key in list(self._servers):
            if key not in desired and key in self._servers:
                self._servers.pop(key).process.stop()
        for tenant in tenants.values():
            if tenant.phase == TenantPhase.TERMINATING and not any(
                i.tenant == tenant.id for i in instances
            ):
                self._store.purge_tenant(tenant.id)
                shutil.rmtree(
                    self._data_dir / "instances" / tenant.id, ignore_errors=True
                )
                log.info("Tenant removed.", tenant=tenant.id)

    def _spec(self, instance: Instance, port: int) -> ServerSpec:
        return ServerSpec(
            name=f"{instance.tenant}/{instance.id}",
            directory=instance_directory(self._data_dir, instance.tenant, instance.id),
            port=port,
            passwords=self._store.instance_passwords(instance.tenant, instance.id),
            maxmemory=instance.memory,
            appendfsync=self._appendfsync,
        )

    def _ensure_running(self, instance: Instance) -> None:
        key = (instance.tenant, instance.id)
        supervised = self._servers.get(key)
        if supervised is not None and supervised.process.running():
            if instance.phase != InstancePhase.RUNNING:
                self._store.set_instance_state(
                    instance.tenant, instance.id, InstancePhase.RUNNING, "Ready"
                )
            return
        now = time.monotonic()
        if supervised is not None:
            if supervised.next_start > now:
                return
            if supervised.process.exit_code() is not None and supervised.failures == 0:
                supervised.restarts += 1
                log.warning(
                    "Valkey exited; restarting.",
                    tenant=instance.tenant,
                    instance=instance.id,
                    exit_code=supervised.process.exit_code(),
                    restarts=supervised.restarts,
                )
        self._start(instance, supervised)

    def _start(self, instance: Instance, supervised: _Supervised | None) -> None:
        key = (instance.tenant, instance.id)
        port = instance.port or free_port()
        if supervised is not None and supervised.failures:
            # The last start failed, perhaps because another process took the port.
            port = free_port()
        process = ValkeyProcess(self._spec(instance, port))
        try:
            if "instance-start" in self._faults:
                raise RuntimeError("injected failure: instance-start")
            process.start()
            process.wait_ready()
        except Exception as error:
            process.stop()
            failures = (supervised.failures if supervised else 0) + 1
            delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (failures - 1))
            self._servers[key] = _Supervised(
                process,
                restarts=supervised.restarts if supervised else 0,
                next_start=time.monotonic() + delay,
                failures=failures,
            )
            self._store.set_instance_state(
                instance.tenant, instance.id, InstancePhase.FAILED, str(error)
            )
            log.error(
                "Valkey failed to start.",
                tenant=instance.tenant,
                instance=instance.id,
                error=str(error),
                retry_in_seconds=delay,
            )
            return
        self._servers[key] = _Supervised(
            process, restarts=supervised.restarts if supervised else 0
        )
        self._store.set_instance_state(
            instance.tenant, instance.id, InstancePhase.RUNNING, "Ready", port=port
        )
        log.info(
            "Valkey started.",
            tenant=instance.tenant,
            instance=instance.id,
            port=port,
            pid=process.pid,
        )

    def _remove(self, instance: Instance) -> None:
        key = (instance.tenant, instance.id)
        supervised = self._servers.pop(key, None)
        if supervised is not None:
            supervised.process.stop()
        shutil.rmtree(
            instance_directory(self._data_dir, instance.tenant, instance.id),
            ignore_errors=True,
        )
        self._store.delete_instance_row(instance.tenant, instance.id)
        log.info("Instance removed.", tenant=instance.tenant, instance=instance.id)

    def measure_storage(self) -> None:
        """Publish each tenant's bytes on disk to the system valkey."""
        assert self.system is not None
        root = self._data_dir / "instances"
        sizes: dict[str, int] = {}
        if root.is_dir():
            for tenant_dir in root.iterdir():
                sizes[tenant_dir.name] = _data_bytes(tenant_dir)
        client = self.system.admin_client()
        try:
            pipe = client.pipeline(transaction=True)
            pipe.delete(STORAGE_KEY)
            if sizes:
                pipe.hset(STORAGE_KEY, mapping=sizes)  # type: ignore[arg-type]
            pipe.execute()
        finally:
            client.close()

    def running_pids(self) -> dict[str, int]:
        """Return the pid of every running instance, keyed ``tenant/instance``."""
        return {
            f"{tenant}/{instance}": supervised.process.pid or 0
            for (tenant, instance), supervised in self._servers.items()
            if supervised.process.running()
        }


def _data_bytes(tenant_dir: Path) -> int:
    """Sum the sizes of a tenant's data files: AOF files and RDB snapshots.

    Config and log files are left out because the tenant does not control them.
    """
    total = 0
    for path in tenant_dir.rglob("*"):
        in_aof = path.parent.name == "appendonlydir"
        if path.is_file() and (in_aof or path.suffix == ".rdb"):
            total += path.stat().st_size
    return total
