"""What an ingest input is, before anything touches the network or the disk.

Pure rules: classify an input string as an HTTP(S) URL or a local path, validate URLs, normalise
URLs so the same video is not ingested twice, decide whether a resolved address may be contacted
(the SSRF policy), and recognise common video containers from their first bytes (uploads).
Only the standard library's `ipaddress`/`urllib.parse` are used: no sockets, no files.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from heaters.domain.errors import BadInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that never identify a video, only who shared it.
_TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|si|feature|ref|ref_src)$")


class SourceKind(Enum):
    URL = "url"
    PATH = "path"


def classify_source(text: str) -> SourceKind:
    """A string with a `scheme://` prefix is a URL (any scheme, validated later); anything else a path."""
    return SourceKind.URL if _SCHEME_RE.match(text.strip()) else SourceKind.PATH


@dataclass(frozen=True)
class HttpUrl:
    url: str
    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int


def parse_http_url(text: str) -> HttpUrl:
    """Validate an http(s) URL; BadInput with a readable reason otherwise."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"{url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BadInput(f"{url!r}: only http:// and https:// URLs can be ingested, not {scheme or 'no'}:// URLs")
    host = (parts.hostname or "").lower()
    if not host:
        raise BadInput(f"{url!r} has no host name")
    if any(ch.isspace() for ch in url):
        raise BadInput(f"{url!r} contains white space")
    return HttpUrl(url=url, scheme=scheme, host=host, port=port or _DEFAULT_PORTS[scheme])


def normalize_url(text: str) -> str:
    """The form of a URL used to recognise a source already ingested.

    Lower-cases scheme and host, drops default ports, fragments and tracking parameters, sorts the
    query, and maps YouTube's short and mobile forms onto the canonical watch URL.
    """
    url = parse_http_url(text)
    parts = urlsplit(url.url)
    host = url.host
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS[url.scheme]:
        netloc += f":{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)]
    path = parts.path or "/"

    if host in ("youtu.be", "www.youtu.be") and path.strip("/"):
        video_id = path.strip("/").split("/")[0]
        return f"https://www.youtube.com/watch?v={video_id}"
    if host in ("youtube.com", "m.youtube.com", "www.youtube.com", "music.youtube.com"):
        if path == "/watch":
            video_id = dict(query).get("v")
            if video_id:
                return f"https://www.youtube.com/watch?v={video_id}"
        shorts = re.match(r"^/(?:shorts|embed|live)/([\w-]+)", path)
        if shorts:
            return f"https://www.youtube.com/watch?v={shorts.group(1)}"

    return urlunsplit((url.scheme, netloc, path, urlencode(sorted(query)), ""))


# --- which addresses may be contacted


@dataclass(frozen=True)
class AddressPolicy:
    """The one SSRF policy. Public addresses are always allowed; private ones only if listed, by network or
    host name, optionally with a port (`127.0.0.1:8080`, `[::1]:8080`, `media.lan:9000`): an entry with a
    port allows that port only. Every connection (ours, redirects, fragments) is judged by `allows`."""

    networks: tuple[IPNetwork, ...] = ()
    host_names: frozenset[str] = frozenset()
    # (network, port) and (host name, port) entries
    network_ports: tuple[tuple[IPNetwork, int], ...] = ()
    host_name_ports: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_allow_list(cls, entries: list[str] | tuple[str, ...]) -> AddressPolicy:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        network_ports: list[tuple[IPNetwork, int]] = []
        name_ports: set[tuple[str, int]] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            host, port = _split_port(entry)
            try:
                network = ipaddress.ip_network(host.strip("[]"), strict=False)
            except ValueError:
                name = host.lower().rstrip(".")
                if port is None:
                    names.add(name)
                else:
                    name_ports.add((name, port))
                continue
            if port is None:
                networks.append(network)
            else:
                network_ports.append((network, port))
        return cls(tuple(networks), frozenset(names), tuple(network_ports), frozenset(name_ports))

    @property
    def all_host_names(self) -> frozenset[str]:
        return self.host_names | {name for name, _ in self.host_name_ports}

    def allows_host_name(self, host: str, port: int | None = None) -> bool:
        name = host.lower().rstrip(".")
        return name in self.host_names or (port is not None and (name, port) in self.host_name_ports)

    def allows(
        self, address: str | IPAddress, extra_allowed: frozenset[str] = frozenset(), port: int | None = None
    ) -> bool:
        """Whether `address` (on `port`, if known) may be contacted; `extra_allowed` holds addresses of allowed
        host names, as "address" or "address:port"."""
        ip = _as_ip(address)
        if is_public_address(ip):
            return True
        if str(ip) in extra_allowed or (port is not None and f"{ip}:{port}" in extra_allowed):
            return True
        if any(ip.version == net.version and ip in net for net in self.networks):
            return True
        return port is not None and any(
            ip.version == net.version and ip in net and port == allowed for net, allowed in self.network_ports
        )


def _split_port(entry: str) -> tuple[str, int | None]:
    """ "host:port", "[v6]:port", "a.b.c.d:port" → (host, port); anything else (incl. bare IPv6) → (entry, None)."""
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d{1,5}))?", entry)
    if match:
        return match.group(1), int(match.group(2)) if match.group(2) else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit() and 0 < int(port) < 65536:
            return host, int(port)
    return entry, None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _as_ip(address: str | IPAddress) -> IPAddress:
    if isinstance(address, str):
        # getaddrinfo may return scoped IPv6 addresses ("fe80::1%eth0"); the scope does not matter here.
        address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1, for the allow list too
    return address


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address reaches or carries: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
    6to4 (2002:aabb:ccdd::), Teredo (server and client) and NAT64 (64:ff9b::a.b.c.d)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or ip in _NAT64_LOCAL or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(address: str | IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and similar addresses, and for
    IPv6 forms that carry or reach such an IPv4 address (mapped, 6to4, Teredo, NAT64, compatible)."""
    ip = _as_ip(address)
    if not _is_public_one(ip):
        return False
    return all(_is_public_one(inner) for inner in embedded_ipv4(ip))


def _is_public_one(ip: IPAddress) -> bool:
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# --- uploads: recognise a video container from its first bytes

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".flv"}
    | {".wmv", ".asf", ".ogv", ".3gp", ".3g2", ".mxf", ".nut", ".y4m", ".ivf"}
)
SNIFF_BYTES = 512


def sniff_container(head: bytes) -> str | None:
    """The canonical extension of the container `head` (the file's first bytes) starts, or None."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
        return ".mov" if head[8:10] == b"qt" or head[4:8] != b"ftyp" else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith(b"FLV"):
        return ".flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return ".wmv"
    if head.startswith(b"OggS"):
        return ".ogv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return ".mpg"
    if head.startswith(b"\x06\x0e\x2b\x34"):
        return ".mxf"
    if head.startswith(b"nut/multimedia container"):
        return ".nut"
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return ".ts"
    if len(head) >= 197 and head[4] == 0x47 and head[196] == 0x47:
        return ".m2ts"  # BDAV: a 4-byte timestamp before each 188-byte packet
    if head.startswith(b"RIFF") and head[8:12] == b"AVIX":
        return ".avi"
    if head.startswith(b"\x00\x00\x01\xb3"):
        return ".mpg"  # MPEG-1/2 elementary video
    if head.startswith(b"YUV4MPEG2"):
        return ".y4m"
    if head.startswith(b"DKIF"):
        return ".ivf"
    return None


_IMAGE_SIGNATURES = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"qoif", "QOI"),
)


def not_a_video_reason(head: bytes) -> str | None:
    """Why the first bytes of a file say "not a video": a still image or a playlist/list; None otherwise."""
    for signature, kind in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return f"a still image ({kind}), not a video"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a still image (WebP), not a video"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
        return "a still image (AVIF/HEIF), not a video"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"#EXTM3U") or text.startswith(b"#EXTINF") or text.startswith(b"[playlist]"):
        return "a playlist (HLS/M3U) that names other files, not a video file"
    if text.startswith(b"ffconcat") or text.startswith(b"file '") or text.startswith(b"file "):
        return "a concat list that names other files, not a video file"
    if text.startswith(b"<?xml") and b"<MPD" in head:
        return "a DASH manifest that names other files, not a video file"
    return None


def require_video_container(name: str, head: bytes) -> str:
    """The canonical extension of the container `head` starts; BadInput naming what it is otherwise.
    The one check for uploads, downloads and local files alike."""
    reason = not_a_video_reason(head)
    if reason:
        raise BadInput(f"{name!r} is {reason}")
    sniffed = sniff_container(head)
    if sniffed is None:
        raise BadInput(
            f"{name!r} does not look like a video file (unknown container); "
            "expected e.g. MP4, MOV, MKV, WebM, AVI, MPEG-TS"
        )
    return sniffed


def upload_extension(original_filename: str, head: bytes) -> str:
    """The extension to store an upload under; BadInput if its bytes are not a known video container."""
    sniffed = require_video_container(original_filename, head)
    claimed = _extension_of(original_filename)
    # Trust the user's extension when it names a container in the same family as the bytes.
    return claimed if claimed in VIDEO_EXTENSIONS and family_of(claimed) == family_of(sniffed) else sniffed


def _extension_of(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


_FAMILIES = {
    ".mp4": "isobmff", ".m4v": "isobmff", ".mov": "isobmff", ".3gp": "isobmff", ".3g2": "isobmff",
    ".mkv": "matroska", ".webm": "matroska",
    ".ts": "ts", ".mts": "ts", ".m2ts": "ts",
    ".wmv": "asf", ".asf": "asf",
    ".mpg": "ps", ".mpeg": "ps",
}  # fmt: skip


def family_of(extension: str) -> str:
    return _FAMILIES.get(extension, extension)


def safe_filename(name: str) -> str:
    """The last path component of a user-supplied file name, without control characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base or "upload"
