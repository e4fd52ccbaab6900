"""Strip secrets from any text shown to a person or stored for one (errors, `last_error`, logs).

Presigned storage URLs carry the access key id and a signature in their query string, and database or
proxy URLs may carry a password; error messages from FFmpeg, boto3 or HTTP libraries quote them. One
function removes them: a URL keeps its scheme, host and path (enough to tell which object failed) and
loses its user info, query string and fragment; a bare `name?X-Amz-...=...` loses its query too; AWS
access key ids are masked wherever they appear. Pure: regular expressions only.
"""

from __future__ import annotations

import re

_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/'\"<>?#@]*@)?([^\s'\"<>?#]*)(\?[^\s'\"<>#]*)?(#[^\s'\"<>]*)?")
# A query string glued to a file name or path outside a full URL: `original.mp4?X-Amz-Credential=...`.
_QUERY = re.compile(r"\?[\w.~%-]+=[^\s'\"<>]*")
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_SECRET_PARAM = re.compile(r"(?i)\b(password|secret|token|signature|credential)=[^\s&'\"<>]+")
REDACTED = "[redacted]"


def redact(text: str | None) -> str | None:
    """`text` without URL credentials, query strings and access key ids (None stays None)."""
    if not text:
        return text
    text = _URL.sub(lambda m: m.group(1) + m.group(3) + ("?…" if m.group(4) else ""), text)
    text = _QUERY.sub("?…", text)
    text = _ACCESS_KEY_ID.sub(REDACTED, text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
