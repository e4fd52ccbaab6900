"""Scratch of dead runs is swept; scratch of live runs sharing the data dir is not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from heaters.adapters.scratch import Scratch, sweep


def test_sweep_removes_dead_runs_and_keeps_live_ones(tmp_path):
    root = tmp_path / "work"
    live = Scratch(root)
    (live.make_dir("preprocess-1") / "master.mkv").write_bytes(b"x" * 1000)
    # A run killed with SIGKILL: its lock died with it.
    killed = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from heaters.adapters.scratch import Scratch; "
         f"s = Scratch(__import__('pathlib').Path({str(root)!r})); (s.make_dir('export-2') / 'clip.mp4')"
         ".write_bytes(b'y' * 5000); print(s.path, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=os.environ,
    )  # fmt: skip
    dead_path = killed.stdout.readline().strip()
    killed.kill()
    killed.wait()
    legacy = root / "preprocess-7-abcd"  # the flat layout of earlier versions
    legacy.mkdir()
    (legacy / "proxy.mp4").write_bytes(b"z" * 100)

    swept = sweep(root)
    assert (swept.directories, swept.bytes) == (2, 5100)
    assert sorted(p.name for p in root.iterdir()) == [live.path.name]
    assert not os.path.exists(dead_path)
    live.close()
    assert list(root.iterdir()) == []


def test_a_new_run_directory_without_its_lock_yet_is_left_alone(tmp_path):
    root = tmp_path / "work"
    starting = root / "run-123-abc"
    starting.mkdir(parents=True)
    assert sweep(root).directories == 0 and starting.exists()
    old = time.time() - 3600
    os.utime(starting, (old, old))
    assert sweep(root).directories == 1 and not starting.exists()
