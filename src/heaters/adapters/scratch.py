"""Scratch space on the local disk: one directory per running process under `data_dir/work`.

A process claims `work/run-PID-XXXX/` and holds an exclusive `flock` on its `.lock` file for as long as
it lives; stages make their temporary directories inside it and remove them when done. A process killed
with SIGKILL cannot clean up, but the kernel drops its lock, so `sweep` (run when a worker or the web
app starts) can tell dead runs from live ones sharing the same data dir, and removes only the dead.
Directories of the older flat layout (`work/preprocess-7-…`) have no owner to ask and are removed too.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RUN_PREFIX = "run-"
LOCK_NAME = ".lock"
_YOUNG_SECONDS = 60  # a run directory this new may not have taken its lock yet
log = logging.getLogger(__name__)


class Scratch:
    """This process's scratch directory (created on first use, removed by `close`)."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=root))
        self._lock_fd: int | None = os.open(self.path / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def make_dir(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.path))

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@dataclass(frozen=True)
class Swept:
    directories: int
    bytes: int


def sweep(root: Path) -> Swept:
    """Remove the scratch of dead runs under `root` (data_dir/work); live runs are left alone."""
    if not root.is_dir():
        return Swept(0, 0)
    directories = freed = 0
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            if entry.name.startswith(RUN_PREFIX) and not _owner_is_dead(entry):
                continue
            size = _size(entry)
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                directories += 1
                freed += size
        elif entry.is_file() or entry.is_symlink():
            entry.unlink(missing_ok=True)
    if directories:
        log.warning("removed scratch of %d dead run(s) in %s (%.1f MB)", directories, root, freed / 1e6)
    return Swept(directories, freed)


def _owner_is_dead(run_dir: Path) -> bool:
    try:
        fd = os.open(run_dir / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - run_dir.stat().st_mtime > _YOUNG_SECONDS
        except FileNotFoundError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its owner is alive
    finally:
        os.close(fd)  # closing drops our lock again; the directory is removed right after
    return True


def _size(path: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
