"""Media limits: the largest picture and the longest video we accept. The settings' defaults come from here
(`heaters.config`), and every check reads a `MediaLimits` built from the settings."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_WIDTH = 7680
DEFAULT_MAX_HEIGHT = 4320
DEFAULT_MAX_DURATION_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class MediaLimits:
    max_width: int = DEFAULT_MAX_WIDTH
    max_height: int = DEFAULT_MAX_HEIGHT
    max_duration_seconds: float = DEFAULT_MAX_DURATION_SECONDS

    @classmethod
    def from_settings(cls, settings) -> MediaLimits:
        return cls(settings.max_width, settings.max_height, settings.max_duration_seconds)
