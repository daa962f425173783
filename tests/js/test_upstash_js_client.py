"""The official @upstash/redis npm client, with its defaults, against the gateway."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gateway_process import Instance

pytestmark = pytest.mark.node

JS_DIR = Path(__file__).parent


def _run_e2e(instance: Instance, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "UPSTASH_REDIS_REST_URL": instance.url,
        "UPSTASH_REDIS_REST_TOKEN": instance.token,
        "KEY_PREFIX": prefix,
    }
    return subprocess.run(
        ["node", str(JS_DIR / "e2e.mjs")],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_e2e_script_passes(node_modules: Path, shared: Instance, unique: str) -> None:
    result = _run_e2e(shared, f"js{unique}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_e2e_script_reports_every_check(
    node_modules: Path, shared: Instance, unique: str
) -> None:
    result = _run_e2e(shared, f"js{unique}")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    checks = [line for line in lines if "check" in line]
    assert len(checks) >= 20
    assert lines[-1] == {"failures": 0}


def test_e2e_script_fails_on_bad_token(node_modules: Path, shared: Instance) -> None:
    wrong = Instance(shared.tenant, shared.instance, shared.url, "kgt_bad", "")
    result = _run_e2e(wrong, "jsbad:")
    assert result.returncode == 1
