"""One typed settings object, read from ``EXTCI_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from extci.datadir import PRIVATE_FILE, private_dir
from extci.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_optional_duration(value: Any) -> timedelta | None:
    """A duration, or None for an empty value or ``off``."""
    if value is None or str(value).strip().lower() in ("", "off", "0"):
        return None
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError("expected a positive duration such as 180d")
    return duration


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


Network = IPv4Network | IPv6Network


def parse_networks(value: Any) -> tuple[Network, ...]:
    """``10.0.0.1, 192.168.0.0/16, ::1`` (commas or spaces) as networks; a bare address is a /32
    (or /128). Empty means none."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    try:
        return tuple(ip_network(str(v).strip(), strict=False) for v in value)
    except ValueError as exc:
        raise ValueError(f"expected IP addresses or CIDR networks: {exc}") from None


Networks = Annotated[tuple[Network, ...], NoDecode, BeforeValidator(parse_networks)]


@dataclass(frozen=True)
class Limits:
    """The sizes a CI event's values may have (``EXTCI_MAX_*``), checked as the webhook
    parses the event (:mod:`extci.ingest.events`)."""

    max_id_length: int = 255
    max_version_length: int = 128
    max_url_length: int = 2048
    max_string_length: int = 1024
    max_payload_items: int = 100

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The settings of the same names."""
        return cls(**{limit.name: getattr(settings, limit.name) for limit in fields(cls)})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXTCI_", extra="ignore")

    env: str = Field("development", description="development or production")
    data_dir: Path = Path("var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_key: str = ""
    rate_limit_per_minute: int = Field(100, ge=1)
    max_body_bytes: int = Field(262144, ge=1024)
    max_payload_items: int = Field(100, ge=1)
    max_id_length: int = Field(255, ge=1)
    max_version_length: int = Field(128, ge=1)
    max_url_length: int = Field(2048, ge=1)
    max_string_length: int = Field(1024, ge=1)
    max_results_per_build: int = Field(1000, ge=1)
    # Request bodies outside the webhook: the JSON API and the web UI's forms.
    max_api_body_bytes: int = Field(1_048_576, ge=1024)
    max_form_body_bytes: int = Field(65_536, ge=1024)
    # Events waiting for the writer; past this the webhook answers 503 with Retry-After.
    ingest_queue_limit: int = Field(1024, ge=1)
    # PostgreSQL only: writer threads storing batches side by side (SQLite has one).
    ingest_writers: int = Field(4, ge=1, le=32)
    # How long a CI key look-up is reused before the webhook's first check asks again
    # (the event's own transaction always checks the key again).
    key_cache_seconds: float = Field(1.0, ge=0, le=2)
    build_inactivity_timeout: Duration = timedelta(hours=24)
    # SQLite only: how long a writer waits for the write lock before answering 503.
    sqlite_busy_timeout: Duration = timedelta(seconds=15)
    # On SIGTERM: stop accepting, let requests in flight finish for at most this long, exit.
    shutdown_grace_period: Duration = timedelta(seconds=10)
    public_url: str = ""
    # The HTTP server (see extci.server.server_options). A client must send a request's
    # headers within header_read_timeout and each chunk of its body within
    # body_read_timeout; at most max_connections are open at once (more are closed).
    header_read_timeout: Duration = timedelta(seconds=10)
    body_read_timeout: Duration = timedelta(seconds=10)
    keep_alive_timeout: Duration = timedelta(seconds=5)
    max_connections: int = Field(1000, ge=1)
    # Failed sign-ins allowed per (client address, username) and per client address in a
    # sliding window before the next attempt answers 429.
    sign_in_failures_per_user: int = Field(5, ge=1)
    sign_in_failures_per_address: int = Field(20, ge=1)
    sign_in_window: Duration = timedelta(minutes=5)
    # Peers whose X-Forwarded-For is believed (the reverse proxy); empty: nobody's.
    trusted_proxies: Networks = ()
    # Whether this process sends webhook deliveries (a process that only ingests or serves
    # the UI can leave it to the others; the outbox is shared through the database).
    webhook_deliver: bool = True
    # Outgoing webhooks (extci.webhooks): refuse loopback, link-local and private targets
    # unless this is true; give up on a delivery after webhook_retry_for of retries with
    # exponential backoff (webhook_backoff_min doubling up to webhook_backoff_max).
    webhook_allow_private: bool = False
    webhook_timeout: Duration = timedelta(seconds=10)
    webhook_retry_for: Duration = timedelta(hours=24)
    webhook_backoff_min: Duration = timedelta(seconds=5)
    webhook_backoff_max: Duration = timedelta(hours=1)
    # How often an idle delivery worker looks for due deliveries (other processes' too).
    webhook_poll_interval: Duration = timedelta(seconds=1)
    # Deliveries sent side by side by one process (each build's stay in order).
    webhook_senders: int = Field(4, ge=1, le=32)
    # How long a process owns a delivery it claimed; past it (a crash) another may send it.
    webhook_lease: Duration = timedelta(seconds=60)
    # How long the ingest path reuses its list of subscriptions (other processes' changes).
    webhook_cache_seconds: float = Field(2.0, ge=0, le=60)
    # Test aid: a new delivery becomes due this long after the change that caused it.
    webhook_first_delay: Duration = timedelta(0)
    # GET /metrics asks for "Authorization: Bearer <this>" when set; open when empty.
    metrics_token: str = ""
    # The first start prints the generated admin password; tests turn this off.
    create_admin: bool = True
    # Test-only: OIDC issuers (trust policies) on plain http, such as a local test issuer.
    # Refused in production: a token's keys fetched over http prove nothing.
    oidc_allow_http_issuers: bool = False
    # Server processes sharing the port (PostgreSQL only: SQLite is one process by design).
    workers: int = Field(1, ge=1, le=64)
    # "text" (people) or "json" (one object per line, for a log collector).
    log_format: LogFormat = LogFormat.TEXT
    # Builds whose last event is older than this are pruned in the background (off when
    # unset); see extci.builds.retention for what is always kept.
    retention: Annotated[timedelta | None, BeforeValidator(parse_optional_duration)] = None

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.webhook_lease <= self.webhook_timeout:
            # A send still in flight must not be taken over by another process.
            raise ValueError("EXTCI_WEBHOOK_LEASE must be longer than EXTCI_WEBHOOK_TIMEOUT")
        if self.env == "production":
            if self.secret_key and len(self.secret_key) < 32:
                raise ValueError("EXTCI_SECRET_KEY must be at least 32 characters in production")
            if self.oidc_allow_http_issuers:
                raise ValueError("EXTCI_OIDC_ALLOW_HTTP_ISSUERS is for tests, not production")
        elif self.env != "development":
            raise ValueError("EXTCI_ENV must be 'development' or 'production'")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'extci.db').as_posix()}"

    @property
    def secret_key_file(self) -> Path:
        """Where the key lives when EXTCI_SECRET_KEY is not set (created by
        :func:`create_secret_key` at the first start)."""
        return self.data_dir / "secret_key"

    @cached_property
    def hmac_key(self) -> bytes:
        """The server's key for the keyed hashes (HMAC) of CI keys, tokens and sessions:
        EXTCI_SECRET_KEY, or the data directory's ``secret_key`` file. Only reads: the file
        is created once, at start, by :func:`create_secret_key`."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.secret_key_file
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            raise ValueError(
                f"{path} does not exist: set EXTCI_SECRET_KEY, or start the server once "
                "(extci serve creates it)"
            ) from None
        if len(key) < 32:
            raise ValueError(f"{path} holds no usable secret key (fewer than 32 characters)")
        return key.encode()

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def create_secret_key(settings: Settings) -> None:
    """Create the data directory's ``secret_key`` (mode 0600) unless EXTCI_SECRET_KEY is set
    or the file exists, so that every process sharing that directory agrees on the key.
    Called once at start (:func:`extci.app.create_app`, ``extci serve``); safe when several
    processes start at once."""
    if settings.secret_key:
        return
    path = settings.secret_key_file
    if path.exists():
        return
    private_dir(settings.data_dir)
    # Write a temporary file in full, then link it into place: a process that loses the
    # race reads the winner's complete key, never a half-written one.
    tmp = settings.data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # whatever the umask
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
