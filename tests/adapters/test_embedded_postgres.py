"""The embedded PostgreSQL of a data directory: started once, attached to by a second process, reused.

Real processes, real server: each step runs `python -c` in a subprocess with HEATERS_DATA_DIR set.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Prints the postmaster pid and the names of the users table; optionally adds a user first.
_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
from sqlalchemy import text
from heaters.config import Settings
from heaters.adapters.db.connection import open_database
db = open_database(Settings())
with db.engine.begin() as conn:
    if len(sys.argv) > 1:
        conn.execute(text("INSERT INTO users (name, password_hash) VALUES (:n, 'x')"), {"n": sys.argv[1]})
    pid = conn.execute(text("SELECT pg_postmaster_start_time()::text")).scalar_one()
    names = list(conn.execute(text("SELECT name FROM users ORDER BY name")).scalars())
print(json.dumps({"server_started": pid, "users": names}), flush=True)
if len(sys.argv) > 2:  # stay attached until told to leave
    sys.stdin.readline()
"""


def _run(data_dir: Path, *args: str, **kwargs):
    env = {**os.environ, "HEATERS_DATA_DIR": str(data_dir)}
    env.pop("HEATERS_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.fixture
def data_dir():
    # Short path under /tmp: the server's unix socket lives in it.
    return Path(tempfile.mkdtemp(prefix="heaters-e-", dir="/tmp")) / "data"


def test_second_process_attaches_and_a_restart_reuses_the_database(data_dir: Path):
    first = _run(data_dir, "alice", "stay")
    first_out = json.loads(first.stdout.readline())
    assert first_out["users"] == ["alice"]

    # A second process while the first is attached: same server (same start time), sees alice.
    second = _run(data_dir, "bob")
    second_out = json.loads(second.communicate(timeout=60)[0])
    assert second_out["server_started"] == first_out["server_started"]
    assert second_out["users"] == ["alice", "bob"]

    first.communicate(input="\n", timeout=60)  # the last process leaves: the server stops

    third = _run(data_dir)
    third_out = json.loads(third.communicate(timeout=60)[0])
    assert third_out["server_started"] != first_out["server_started"]  # started again…
    assert third_out["users"] == ["alice", "bob"]  # …on the same data
    assert (data_dir / "postgres" / "PG_VERSION").exists()


def _postmaster_pid(data_dir: Path) -> int | None:
    pidfile = data_dir / "postgres" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else None


def test_a_dead_process_in_the_handle_list_does_not_keep_the_server_running(data_dir: Path):
    """A process killed without leaving stays in the server's handle file; the last clean exit still stops it."""
    first = _run(data_dir, "alice", "stay")
    json.loads(first.stdout.readline())
    postmaster = _postmaster_pid(data_dir)
    assert postmaster is not None
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    handles = data_dir / "postgres" / ".handle_pids.json"
    handles.write_text(json.dumps([*json.loads(handles.read_text()), gone.pid]))  # as a SIGKILLed attacher leaves it
    try:
        first.stdin.write("\n")
        first.stdin.flush()
        assert first.wait(timeout=60) == 0
        assert not _alive(postmaster), "PostgreSQL was left running after the last process exited"
    finally:
        if _alive(postmaster):
            os.kill(postmaster, 15)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has stopped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return not re.search(r"^State:\s+Z", status, re.M)
