"""Media limits: the largest picture and the longest video we accept. The settings' defaults come from here
(`heaters.config`), and every check reads a `MediaLimits` built from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from heaters.domain.errors import BadInput

DEFAULT_MAX_WIDTH = 7680
DEFAULT_MAX_HEIGHT = 4320
DEFAULT_MAX_DURATION_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class MediaLimits:
    max_width: int = DEFAULT_MAX_WIDTH
    max_height: int = DEFAULT_MAX_HEIGHT
    max_duration_seconds: float = DEFAULT_MAX_DURATION_SECONDS
    max_output_bytes: int | None = None  # master + proxy + features of one preprocess; None: no budget

    @classmethod
    def from_settings(cls, settings) -> MediaLimits:
        return cls(settings.max_width, settings.max_height, settings.max_duration_seconds, settings.max_output_bytes)

    @property
    def max_pixels(self) -> int:
        return self.max_width * self.max_height

    def check_header_size(self, name: str, width: int, height: int) -> None:
        """Before any decode: the size the container declares, in either orientation (rotation is unknown)."""
        if width * height > self.max_pixels or max(width, height) > max(self.max_width, self.max_height):
            raise BadInput(f"{name} declares {width}x{height}, over the limit of {self.max_width}x{self.max_height}")
