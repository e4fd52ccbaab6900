"""Domain exceptions: every refusal carries a message a user can act on.

Each edge maps these once: HTTP status in `web`, exit code in `cli`, a failed state in `pipeline`.
"""


class HeatersError(Exception):
    """Base of every error the product reports to a user."""


class IllegalTransition(HeatersError):
    """A state change the state table does not allow."""


class Refused(HeatersError):
    """A well-formed request the rules refuse (e.g. merging into an exported clip)."""


class NotFound(HeatersError):
    """The named video, clip or user does not exist."""


class BadInput(HeatersError):
    """Input that can never succeed: not a video, a forbidden address, a file over the limits."""
