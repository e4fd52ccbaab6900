"""Sign-in throttling for one web process: failed attempts per address and per user name in a sliding
window, and a bound on concurrent password checks (Argon2 takes 64 MiB each: 40 parallel sign-ins must not
take 2.6 GB). Per process: with several web processes the limits apply to each (the bound on memory is what
matters for the machine; the attempt budget multiplies by the process count)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginGuard:
    def __init__(self, per_address: int, per_name: int, window_seconds: float, concurrent_hashes: int):
        self.per_address = per_address
        self.per_name = per_name
        self.window = window_seconds
        self.hashing = threading.BoundedSemaphore(concurrent_hashes)
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> LoginGuard:
        return cls(
            settings.login_attempts_per_address,
            settings.login_attempts_per_name,
            settings.login_window_seconds,
            settings.login_concurrent_hashes,
        )

    def check(self, address: str, name: str) -> None:
        """Raise TooManyAttempts if this address or this name failed too often lately."""
        now = time.monotonic()
        with self._lock:
            for key, limit in ((f"a:{address}", self.per_address), (f"n:{name.strip().lower()}", self.per_name)):
                if key not in self._failures:
                    continue
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    raise TooManyAttempts(max(1, int(recent[0] + self.window - now) + 1))

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"a:{address}", f"n:{name.strip().lower()}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"n:{name.strip().lower()}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures[key]
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent
