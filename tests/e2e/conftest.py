"""End-to-end fixtures: Heaters started the way the README says (`heaters serve`, as a subprocess with its
own data directory and embedded PostgreSQL), and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

ADMIN_PASSWORD = "first hour at the heater"
START_TIMEOUT = 240  # first start: initdb of the embedded PostgreSQL, migrations, on a shared slow CPU
STOP_TIMEOUT = 60


@dataclass(frozen=True)
class RunningApp:
    base_url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `heaters ARGS` against the same data directory (attaches to the running database)."""
        return subprocess.run(
            [sys.executable, "-c", "from heaters.cli import main; main()", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def running_app() -> Iterator[RunningApp]:
    # Short path under /tmp: the embedded server's unix socket path must stay short, and when tests run as
    # root the server runs as another user who must be able to traverse the directory.
    root = Path(tempfile.mkdtemp(prefix="heaters-e2e-", dir="/tmp"))
    root.chmod(0o755)
    data_dir = root / "data"
    log_path = root / "serve.log"
    port = _free_port()
    env = dict(
        os.environ,
        HEATERS_DATA_DIR=str(data_dir),
        HEATERS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        HEATERS_EXPORT_GRACE_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("HEATERS_DATABASE_URL", None)  # the README's default: the embedded database
    command = [sys.executable, "-c", "from heaters.cli import main; main()", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    app = RunningApp(base_url=base_url, data_dir=data_dir, env=env, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(base_url):
            if process.poll() is not None:
                pytest.fail(f"`heaters serve` exited with {process.returncode}:\n{app.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"`heaters serve` not healthy after {START_TIMEOUT} s:\n{app.output()}")
            time.sleep(0.5)
        yield app
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        _stop_leftover_postgres(data_dir / "postgres")
        shutil.rmtree(root, ignore_errors=True)


def _stop_leftover_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL our `heaters serve` started, if it outlived it.

    It does today: uvicorn re-raises SIGTERM after its graceful shutdown, so the process dies by the signal
    and the atexit hook that stops the embedded server never runs."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
