"""Refuse connections to private addresses while a download runs: the part of SSRF safety after the URL check.

The URL's host is checked before any connection (see `fetch_source`), but a server can still redirect
to a private address, or DNS can answer differently the second time. So every `socket.connect` made
by the downloading thread is checked against the address policy at the moment it happens, through a
Python audit hook (PEP 578). This covers yt-dlp's HTTP handlers (requests/urllib3 and urllib alike),
redirects, manifests and fragments alike, whatever the library, because they all end in
`socket.connect` with the resolved address.

Child processes are outside any audit hook, so while a guarded download runs, starting a child process that
is given anything network-like (a URL, an FFmpeg network or nesting protocol) is refused at `subprocess.Popen`
/ `os.posix_spawn` / `os.exec*` / `os.system` (yt-dlp hands some HLS streams, e.g. SAMPLE-AES ones, to an
`ffmpeg` child that would fetch the segments itself). Local merging of downloaded files still runs.
Other threads are not covered: yt-dlp is run with one fragment thread, so it connects from the calling
thread only.
Audit hooks cannot be removed; the hook is installed once and costs one string comparison per
audited event when no guarded download runs in that thread.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from heaters.domain.sources import AddressPolicy


class ConnectionRefusedByPolicy(ConnectionRefusedError):
    """Raised inside `socket.connect`: an OSError, so HTTP libraries report a failed connection."""


@dataclass
class ConnectionGuard:
    policy: AddressPolicy
    extra_allowed: frozenset[str] = frozenset()
    refused: list[str] = field(default_factory=list)

    def check(self, host: str, port: int | None = None) -> None:
        try:
            addresses = [host] if _is_ip_literal(host) else _resolve(host)
        except OSError:
            return  # connect() itself will fail to resolve it
        for address in addresses:
            if not self.policy.allows(address, self.extra_allowed, port):
                self.refused.append(address)
                raise ConnectionRefusedByPolicy(
                    f"connection to {address} refused: private, loopback or reserved address"
                )

    def check_child(self, argv: list[str]) -> None:
        network = next((arg for arg in argv if _is_network_argument(arg)), None)
        if network is not None:
            self.refused.append(f"a child process ({Path(argv[0]).name if argv else '?'}) fetching {network[:80]}")
            raise ChildProcessRefused(
                "refused to start a child process that would open network connections outside the guard"
            )


class ChildProcessRefused(PermissionError):
    """Raised inside `subprocess.Popen` & co. while a guarded download runs."""


# FFmpeg protocols that reach the network or open further inputs ("concat:a|b", "subfile,,start,…:", "crypto+…").
_FFMPEG_PROTOCOLS = re.compile(
    r"^(?:[a-z0-9]+\+)*(?:https?|tcp|udp|tls|rtmp[est]*|rtsp|rtp|srtp|sctp|ftp|sftp|gopher|gophers|mmsh?|mmst|"
    r"icecast|hls|dash|crypto|concat|concatf|subfile|data|async|cache|srt|rist|zmq|unix|ipfs|ipns|smb|"
    r"libssh|librist|libsrt|bluray|prompeg|ws|wss)[:,]",
    re.IGNORECASE,
)


_local = threading.local()
_install_lock = threading.Lock()
_installed = False


_CHILD_EVENTS = {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.system", "os.spawn", "os.startfile"}


def _audit_hook(event: str, args: tuple) -> None:
    if event == "socket.connect":
        guard = getattr(_local, "guard", None)
        if guard is None:
            return
        address = args[1]
        # AF_INET/AF_INET6 addresses are tuples whose first item is the host; AF_UNIX paths are not checked.
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
            guard.check(address[0], port)
    elif event in _CHILD_EVENTS:
        guard = getattr(_local, "guard", None)
        if guard is not None:
            guard.check_child(_argv_of(event, args))


def _argv_of(event: str, args: tuple) -> list[str]:
    if event == "os.system":
        return [str(args[0])]
    # subprocess.Popen: (executable, args, cwd, env); os.exec/os.posix_spawn/os.spawn: (path, argv, env)
    argv = args[1] if len(args) > 1 else ()
    if isinstance(argv, str | bytes):
        argv = [argv]
    return [os.fsdecode(a) if isinstance(a, bytes | os.PathLike) else str(a) for a in (argv or ())]


def _is_network_argument(arg: str) -> bool:
    text = arg.strip()
    if text.lower().startswith("file:"):
        return False
    return "://" in text or bool(_FFMPEG_PROTOCOLS.match(text))


@contextmanager
def guarded_connections(guard: ConnectionGuard) -> Iterator[ConnectionGuard]:
    """Check every connection this thread makes while inside the block."""
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit_hook)
            _installed = True
    previous = getattr(_local, "guard", None)
    _local.guard = guard
    try:
        yield guard
    finally:
        _local.guard = previous


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.split("%", 1)[0])
    except OSError:
        return False
    return True


def _resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})
