"""Refuse connections to private addresses while a download runs: the part of SSRF safety after the URL check.

The URL's host is checked before any connection (see `fetch_source`), but a server can still redirect
to a private address, or DNS can answer differently the second time. So every `socket.connect` made
by the downloading thread is checked against the address policy at the moment it happens, through a
Python audit hook (PEP 578). This covers yt-dlp's HTTP handlers (requests/urllib3 and urllib alike),
redirects, manifests and fragments alike, whatever the library, because they all end in
`socket.connect` with the resolved address.

Not covered: connections made by child processes (yt-dlp's external downloaders such as ffmpeg for
live HLS; `fetch_source` refuses live streams and forces yt-dlp's native downloaders) and by other
threads (yt-dlp is run with one fragment thread, so it connects from the calling thread only).
Audit hooks cannot be removed; the hook is installed once and costs one string comparison per
audited event when no guarded download runs in that thread.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from heaters.domain.sources import AddressPolicy


class ConnectionRefusedByPolicy(ConnectionRefusedError):
    """Raised inside `socket.connect`: an OSError, so HTTP libraries report a failed connection."""


@dataclass
class ConnectionGuard:
    policy: AddressPolicy
    extra_allowed: frozenset[str] = frozenset()
    refused: list[str] = field(default_factory=list)

    def check(self, host: str) -> None:
        try:
            addresses = [host] if _is_ip_literal(host) else _resolve(host)
        except OSError:
            return  # connect() itself will fail to resolve it
        for address in addresses:
            if not self.policy.allows(address, self.extra_allowed):
                self.refused.append(address)
                raise ConnectionRefusedByPolicy(
                    f"connection to {address} refused: private, loopback or reserved address"
                )


_local = threading.local()
_install_lock = threading.Lock()
_installed = False


def _audit_hook(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    guard = getattr(_local, "guard", None)
    if guard is None:
        return
    address = args[1]
    # AF_INET/AF_INET6 addresses are tuples whose first item is the host; AF_UNIX paths are not checked.
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        guard.check(address[0])


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
