"""Every setting of the server, read once from the environment, validated, secrets hidden in repr."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from server.mail.address import normal_address
from server.redis_address import RedisAddressRefused, check_redis_url

MIN_SECRET_BYTES = 32


class UnsafeSettings(ValueError):
    """The server refuses to start on a value that would weaken it."""


@dataclass(frozen=True)
class Secret:
    """A value that never shows in logs or reprs."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class SmtpServer:
    """The operator's mail server (CELLMEET_SMTP_URL): `smtps` speaks TLS from the first byte; `smtp`
    upgrades with STARTTLS when the server offers it (and never sends the password without TLS, except
    to a server on the loopback)."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: Secret | None = None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: Secret
    # Several signalling processes share their live rooms through it (server.redis_address: where).
    redis_url: Secret | None = None
    # Every Redis key and channel of this deployment starts with it (two deployments, or the tests,
    # sharing one Redis never see each other's).
    redis_prefix: str = "cellmeet"
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    turn_secret: Secret | None = None
    # How long a minted TURN credential is valid (quality.md S10: at most 10 min); the room page asks
    # for a fresh one before each new peer connection or ICE restart once half of it has passed.
    turn_ttl_seconds: int = 600
    public_url: str | None = None
    lang: str = "vi"
    # Throttling of password checks (ASVS 2.2.1: at most 100 failures an hour per account).
    login_failures_per_account_per_hour: int = 20
    login_failures_per_address_per_hour: int = 100
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    max_body_bytes: int = 1024 * 1024
    max_import_bytes: int = 5 * 1024 * 1024
    # Register imports (docs/security.md "Requests"): parsed in a child process, never on the event
    # loop; refused past this many rows with data, data beyond this column (a register has ~15), or
    # this many seconds of parsing (the child is killed).
    import_max_rows: int = 5000
    import_max_columns: int = 50
    import_parse_seconds: float = 10.0
    # The /room signalling namespace (architecture.md "Limits that are designed in").
    room_max_message_bytes: int = 64 * 1024
    room_events_per_second: float = 20.0
    room_event_burst: int = 100
    # docs/security.md "The live room": the budget above is the user's, across connections; emptying
    # it closes them and refuses reconnects for the cool-down. A refused join and a malformed frame
    # cost more than an event; a few malformed frames drop the connection.
    room_flood_cooldown_seconds: float = 30.0
    room_connections_per_user: int = 6
    room_refused_join_cost: int = 10
    room_malformed_frame_cost: int = 10
    room_malformed_frames_max: int = 3
    # New WebSockets per client address (several members may share one address behind a NAT).
    room_connect_burst_per_address: int = 60
    room_connects_per_address_per_second: float = 2.0
    # A WebSocket that has not joined the room's namespace within this is closed (no account needed
    # to open one, so idle ones must not pile up).
    room_unjoined_seconds: float = 10.0
    # TCP connections (docs/security.md "Connections"): at most this many open per client address
    # (the proxies below excepted: nginx's limit_conn counts per real client), and a connection must
    # have sent a whole request's headers within request_header_seconds.
    connections_per_address: int = 256
    request_header_seconds: float = 10.0
    # The reverse proxies whose X-Forwarded-For / X-Real-IP is believed (IPs or networks).
    trusted_proxies: tuple[str, ...] = ()
    # A join ticket opens one connection, within this many seconds of its issue.
    join_ticket_seconds: int = 60
    # How long a dropped connection waits for its reconnect before the leave is written (backdated to
    # the drop). None: the rule set's grace (R-ATT-2), so a reconnect within it writes nothing at all.
    presence_confirm_seconds: float | None = None
    # Engine.IO heartbeat: a half-open connection is noticed after ping_interval + ping_timeout.
    ping_interval_seconds: float = 10.0
    ping_timeout_seconds: float = 10.0
    # Server-side aiortc (the pre-join echo check): the host addresses its ICE may offer (empty: all
    # of the machine's), how many checks may run at once, and how long one may last.
    media_host_addresses: tuple[str, ...] = ()
    echo_max_sessions: int = 4
    echo_session_seconds: int = 60
    # The Ed25519 key that signs audit checkpoints (None: DATA_DIR/audit_signing_key.pem, generated),
    # and how often a checkpoint of a head that moved is taken besides every vote close and minutes lock.
    audit_key_file: Path | None = None
    checkpoint_minutes: float = 60.0
    # The Janus SFU (issue 20): its HTTP API (None: every room stays a mesh), the API secret when Janus
    # is configured with one, and from how many connected peers a meeting moves to the SFU.
    sfu_url: str | None = None
    sfu_api_secret: Secret | None = None
    sfu_min_peers: int = 6
    # E-mail (issue 18): the operator's SMTP server and the From of the messages; None: no e-mail is
    # ever sent (the invitation is a notice on the members' home pages only). A connection and each of
    # its exchanges give up after smtp_timeout_seconds.
    smtp: SmtpServer | None = None
    mail_from: str | None = None
    smtp_timeout_seconds: float = 10.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit_signing_key.pem"


def _load_or_create_secret(data_dir: Path) -> str:
    """DATA_DIR/secret_key, created on first use. O_EXCL: of several processes starting at once on an
    empty directory, one writes it and the others read it (they must share it: join tickets are signed
    with it); 0600 from the first byte."""
    path = data_dir / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may be writing it this very moment
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise UnsafeSettings(f"{path} is empty: remove it, or set CELLMEET_SECRET_KEY")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the environment (api.md "Command line"); raise UnsafeSettings on weak values."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("CELLMEET_DATA_DIR", "./var")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("CELLMEET_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'cellmeet.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
    secret = env.get("CELLMEET_SECRET_KEY") or _load_or_create_secret(data_dir)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise UnsafeSettings(f"CELLMEET_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
    try:
        ice_servers = json.loads(env.get("CELLMEET_ICE_SERVERS") or "[]")
    except json.JSONDecodeError as exc:
        raise UnsafeSettings(f"CELLMEET_ICE_SERVERS is not JSON: {exc}") from exc
    if not isinstance(ice_servers, list):
        raise UnsafeSettings("CELLMEET_ICE_SERVERS must be a JSON list")
    lang = env.get("CELLMEET_LANG", "vi")
    if lang not in ("vi", "en"):
        raise UnsafeSettings("CELLMEET_LANG must be vi or en")
    turn = env.get("CELLMEET_TURN_SECRET")
    if not turn and _has_turn(ice_servers):
        # Without the secret the TURN entries would be dropped silently: members behind a strict NAT
        # would fail to connect with nothing in the log to say why (quality.md S16).
        raise UnsafeSettings(
            "CELLMEET_ICE_SERVERS names a TURN server (turn: or turns:) but CELLMEET_TURN_SECRET is unset"
        )
    key_file = env.get("CELLMEET_AUDIT_KEY_FILE")
    audit_key_file = Path(key_file).expanduser().resolve() if key_file else None
    if audit_key_file is not None and not audit_key_file.is_file():
        # Never generate a key where the operator pointed: a typo would silently start a new key.
        raise UnsafeSettings(f"CELLMEET_AUDIT_KEY_FILE: no key file at {audit_key_file}")
    try:
        checkpoint_minutes = float(env.get("CELLMEET_CHECKPOINT_MINUTES") or 60)
    except ValueError:
        checkpoint_minutes = math.nan
    if not 0 < checkpoint_minutes <= 24 * 60:
        raise UnsafeSettings("CELLMEET_CHECKPOINT_MINUTES must be more than 0 and at most 1440 (minutes)")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=Secret(secret),
        redis_url=_redis_url(env.get("CELLMEET_REDIS_URL", "")),
        redis_prefix=_redis_prefix(env.get("CELLMEET_REDIS_PREFIX", "")),
        ice_servers=ice_servers,
        turn_secret=Secret(turn) if turn else None,
        turn_ttl_seconds=_turn_ttl_seconds(env.get("CELLMEET_TURN_TTL_SECONDS", "")),
        public_url=env.get("CELLMEET_PUBLIC_URL") or None,
        lang=lang,
        media_host_addresses=tuple(
            a.strip() for a in env.get("CELLMEET_MEDIA_HOST_ADDRESSES", "").split(",") if a.strip()
        ),
        audit_key_file=audit_key_file,
        checkpoint_minutes=checkpoint_minutes,
        trusted_proxies=_networks(env.get("CELLMEET_TRUSTED_PROXIES", "")),
        sfu_url=_sfu_url(env.get("CELLMEET_SFU_URL", "")),
        sfu_api_secret=Secret(env["CELLMEET_SFU_API_SECRET"]) if env.get("CELLMEET_SFU_API_SECRET") else None,
        sfu_min_peers=_sfu_min_peers(env.get("CELLMEET_SFU_MIN_PEERS", "")),
        **_address_limits(env),
        **_mail(env.get("CELLMEET_SMTP_URL", ""), env.get("CELLMEET_MAIL_FROM", "")),
    )


def _has_turn(ice_servers: list[Any]) -> bool:
    """Whether any entry of CELLMEET_ICE_SERVERS is a TURN server (its credential is minted from
    CELLMEET_TURN_SECRET, server.media.turn)."""
    for entry in ice_servers:
        urls = entry.get("urls", []) if isinstance(entry, dict) else []
        url_list = [urls] if isinstance(urls, str) else list(urls) if isinstance(urls, list) else []
        if any(str(url).startswith(("turn:", "turns:")) for url in url_list):
            return True
    return False


def _mail(url_text: str, from_text: str) -> dict[str, Any]:
    """CELLMEET_SMTP_URL and CELLMEET_MAIL_FROM: both or no e-mail; a bad value stops the start. An
    error never repeats the URL's password."""
    smtp = _smtp_url(url_text)
    if smtp is None:
        return {}
    sender = from_text.strip()
    name, address = parseaddr(sender)
    normal = normal_address(address) if sender and "\n" not in sender and "\r" not in sender else None
    if normal is None:
        raise UnsafeSettings(
            "CELLMEET_MAIL_FROM must be an e-mail address (optionally with a name: "
            "Chi bo <noreply@example.vn>) when CELLMEET_SMTP_URL is set"
        )
    return {"smtp": smtp, "mail_from": str(Address(display_name=name, addr_spec=normal))}


def _smtp_url(text: str) -> SmtpServer | None:
    """smtp://[user[:password]@]host[:port] (STARTTLS when offered, port 25 by default) or smtps://...
    (TLS, port 465); user and password percent-encoded."""
    url = text.strip()
    if not url:
        return None
    parsed = urlsplit(url)
    shown = f"{parsed.scheme}://{parsed.hostname or ''}" + (
        f":{parsed.port}" if _port_ok(parsed) and parsed.port else ""
    )
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise UnsafeSettings(
            "CELLMEET_SMTP_URL: not smtp://user:password@host:port or smtps://user:password@host:port"
        )
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise UnsafeSettings(f"CELLMEET_SMTP_URL: no path, query or fragment after the host ({shown})")
    if not _port_ok(parsed):
        raise UnsafeSettings(f"CELLMEET_SMTP_URL: bad port ({parsed.scheme}://{parsed.hostname})")
    if parsed.password is not None and not parsed.username:
        raise UnsafeSettings(f"CELLMEET_SMTP_URL: a password without a user name ({shown})")
    username = unquote(parsed.username) if parsed.username else None
    password = unquote(parsed.password) if parsed.password else None
    if not (username or "").isascii() or not (password or "").isascii():
        # smtplib's AUTH sends ASCII only: refused now, not at the first invitation.
        raise UnsafeSettings(f"CELLMEET_SMTP_URL: the user name and password must be ASCII ({shown})")
    implicit_tls = parsed.scheme == "smtps"
    return SmtpServer(
        host=parsed.hostname,
        port=parsed.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        username=username,
        password=Secret(password) if password else None,
    )


def _port_ok(parsed: Any) -> bool:
    try:
        port = parsed.port
    except ValueError:
        return False
    return port is None or 0 < port < 65536


def _sfu_url(text: str) -> str | None:
    """Janus's HTTP API (http://host:8088/janus) or its WebSocket API (ws://host:8188); a bad value
    stops the start, not the first join."""
    url = text.strip()
    if not url:
        return None
    parsed = urlsplit(url)
    schemes = ("http", "https", "ws", "wss")
    if parsed.scheme not in schemes or not parsed.hostname or parsed.query or parsed.fragment:
        raise UnsafeSettings(f"CELLMEET_SFU_URL: not an http(s) or ws(s) URL of Janus's API: {url}")
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UnsafeSettings(f"CELLMEET_SFU_URL: bad port in {url}") from exc
    return url.rstrip("/")


def _redis_url(text: str) -> Secret | None:
    """Kept as a Secret: its password never shows in a log line or a repr."""
    if not text:
        return None
    try:
        return Secret(check_redis_url(text))
    except RedisAddressRefused as exc:
        raise UnsafeSettings(str(exc)) from exc


def _redis_prefix(text: str) -> str:
    if not text:
        return "cellmeet"
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", text):
        raise UnsafeSettings("CELLMEET_REDIS_PREFIX: 1 to 64 letters, digits, '_', '.', ':' or '-'")
    return text


def _sfu_min_peers(text: str) -> int:
    if not text.strip():
        return 6
    if not text.strip().isdigit() or not 2 <= int(text) <= 1000:
        raise UnsafeSettings("CELLMEET_SFU_MIN_PEERS must be a whole number from 2 to 1000")
    return int(text)


# Per client address: open TCP connections, and the room's connection attempts (a burst, then a rate).
# Members behind one NAT (an embassy, a ship's satellite link, a ministry's proxy) share an address, so
# the operator may raise them; the benchmark does, its 500 members all coming from 127.0.0.1.
ADDRESS_LIMITS = {
    "CELLMEET_CONNECTIONS_PER_ADDRESS": ("connections_per_address", int, 1, 1_000_000),
    "CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS": ("room_connect_burst_per_address", int, 1, 1_000_000),
    "CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND": (
        "room_connects_per_address_per_second",
        float,
        0.01,
        1e6,
    ),
}


def _address_limits(env: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, (field_name, kind, low, high) in ADDRESS_LIMITS.items():
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            value = kind(text) if text.isascii() else math.nan
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN fails too
            raise UnsafeSettings(f"{name} must be a number from {low} to {high:,}")
        found[field_name] = value
    return found


def _turn_ttl_seconds(text: str) -> int:
    """CELLMEET_TURN_TTL_SECONDS: never longer than 10 min (quality.md S10); a few seconds for tests."""
    value = text.strip()
    if not value:
        return 600
    if not (value.isascii() and value.isdigit()) or not 5 <= int(value) <= 600:
        raise UnsafeSettings("CELLMEET_TURN_TTL_SECONDS must be a whole number from 5 to 600 (seconds)")
    return int(value)


def _networks(text: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks; anything else refuses to start."""
    networks = tuple(part.strip() for part in text.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise UnsafeSettings(
                f"CELLMEET_TRUSTED_PROXIES: not an IP address or network: {network}"
            ) from exc
    return networks
