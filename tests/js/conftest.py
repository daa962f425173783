"""Install the pinned npm packages once per session, from package-lock.json."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Run ``npm ci`` unless the locked client is already installed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the @upstash/redis tests")
    installed = JS_DIR / "node_modules" / "@upstash" / "redis" / "package.json"
    if not installed.exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return JS_DIR / "node_modules"
