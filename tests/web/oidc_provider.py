"""A real OpenID Connect provider for the console's sign-in tests: the npm package `oidc-provider`
at a pinned version, installed once into a cache folder the tests own, and the small script
`node/oidc_provider.mjs` started with the accounts and client of a test run.

Node and npm come from the system (`.ci/run` installs them). Without them the tests are skipped
on a developer's machine and fail under CI=true, as the PostgreSQL half does."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

OIDC_PROVIDER_VERSION = "8.8.1"
SCRIPT = Path(__file__).parent / "node" / "oidc_provider.mjs"
CACHE_DIR = Path(
    os.environ.get("OBHVAT_TEST_NODE_CACHE", str(Path.home() / ".cache" / "obhvat-tests"))
) / f"oidc-provider-{OIDC_PROVIDER_VERSION}"
CLIENT_ID = "obhvat-console"
CLIENT_SECRET = "obhvat-console-test-secret"  # noqa: S105 - the test provider's client, nowhere else
#: the provider's accounts: login -> the organisation and roles its ID token names
ACCOUNTS = {
    "anna.petrova": {"org": "cp-kazanlak", "roles": ["cp_officer"]},
    "mixed.duties": {"org": "cp-kazanlak", "roles": ["auditor", "cp_officer"]},
    "no.organisation": {"org": "no-such-organisation", "roles": ["cp_officer"]},
}


@dataclass(frozen=True)
class RunningProvider:
    issuer: str
    jwks_file: Path
    client_id: str
    client_secret: str


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the OpenID Connect sign-in tests must run)")
    pytest.skip(reason)


def _installed() -> bool:
    manifest = CACHE_DIR / "node_modules" / "oidc-provider" / "package.json"
    return manifest.exists() and json.loads(manifest.read_text()).get("version") == OIDC_PROVIDER_VERSION


def install() -> Path:
    """The cache folder with the pinned `oidc-provider` in its node_modules."""
    if _installed():
        return CACHE_DIR
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(  # noqa: S603 - fixed arguments
        [str(npm), "install", "--no-audit", "--no-fund", "--prefix", str(CACHE_DIR),
         f"oidc-provider@{OIDC_PROVIDER_VERSION}"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if completed.returncode != 0 or not _installed():
        _unavailable(f"npm could not install oidc-provider@{OIDC_PROVIDER_VERSION}: {completed.stderr[-500:]}")
    return CACHE_DIR


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(redirect_uri: str, workdir: Path) -> Iterator[RunningProvider]:
    """Runs the provider until the generator is closed."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    cache = install()
    script = cache / SCRIPT.name  # beside its node_modules, where `import 'oidc-provider'` resolves
    shutil.copyfile(SCRIPT, script)
    port = _free_port()
    jwks_file = workdir / "idp-jwks.json"
    config = {
        "port": port, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "redirectUri": redirect_uri,
        "accounts": ACCOUNTS, "jwksFile": str(jwks_file),
    }
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [str(node), str(script), json.dumps(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cache,
    )
    try:
        assert process.stdout is not None  # noqa: S101 - piped above
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            if line.startswith("ready "):
                break
        if not line.startswith("ready "):
            errors = process.stderr.read() if process.stderr and process.poll() is not None else ""
            pytest.fail(f"the OpenID Connect provider did not start: {errors[-1000:]}")
        yield RunningProvider(
            issuer=line.split(" ", 1)[1].strip(), jwks_file=jwks_file, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
