"""The embedded PostgreSQL of a data directory: started once, attached to by a second process, reused.

Real processes, real server: each step runs `python -c` in a subprocess with HEATERS_DATA_DIR set.
"""

from __future__ import annotations

import json
import os
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
