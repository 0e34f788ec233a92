"""Service configuration, read from `OBHVAT_*` environment variables.

Settings are built once by the caller (the CLI or the app factory) and passed down, never read
at import time, so tests construct their own.
"""

from __future__ import annotations

import ipaddress
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: the address of `obhvat serve` with its defaults, where links point outside production
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:8000"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SettingsError(Exception):
    """A bad setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OBHVAT_", extra="ignore")

    environment: Environment = Environment.development
    public_url: str | None = Field(
        default=None,
        description="the address people and links use, e.g. https://obhvat.example.bg; required in production",
    )
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file under data_dir"
    )
    keys_dir: Path | None = Field(
        default=None, description="signing keys; default: data_dir/keys; generated when empty"
    )
    token_lifetime_seconds: int = Field(default=900, ge=30, le=900)
    token_issuer: str = "urn:obhvat"  # noqa: S105 - a name, not a secret
    token_audience: str = "obhvat-api"  # noqa: S105 - a name, not a secret
    token_leeway_seconds: int = Field(default=10, ge=0, le=60)
    pin_secret: str | None = Field(
        default=None, description="HMAC key for PINs; in development generated under keys_dir"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_csv_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    demo_password: str = "obhvat-demo-2026"  # noqa: S105 - the published demo password
    oidc_issuer: str | None = None
    oidc_jwks: str | None = Field(default=None, description="path or https URL of the JWKS")
    oidc_audience: str | None = None
    oidc_algorithm: Literal["RS256", "ES256", "PS256"] = "RS256"
    oidc_organisation_claim: str = "obhvat_org"
    oidc_roles_claim: str = "obhvat_roles"
    oidc_client_id: str | None = Field(
        default=None, description="the console's client id at the OpenID Connect issuer; enables its sign-in button"
    )
    oidc_client_secret: str | None = Field(
        default=None, description="the console's client secret (client_secret_basic); unset for a public client"
    )
    oidc_scopes: str = Field(
        default="openid", description="scopes the console asks for; the ID token must carry the organisation and roles"
    )
    oidc_provider_name: str = Field(
        default="OpenID Connect", max_length=60, description="shown on the sign-in button: \"Вход с <name>\""
    )
    db_pool_size: int = Field(default=10, ge=1)
    anonymous_burst: int = Field(
        default=30, ge=1, description="requests without valid credentials an address may send at once"
    )
    anonymous_per_minute: int = Field(
        default=60, ge=1, description="and then per minute; past it they are answered 429"
    )
    anonymous_hold_seconds: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description=(
            "how long such a 429 is held back before it is sent (at most its Retry-After), so a"
            " flood that ignores Retry-After waits instead of taking the CPU"
        ),
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description=(
            "comma-separated addresses or CIDRs of the reverse proxies (the ingress) whose"
            " X-Forwarded-For names the client; `*` (trust anyone) is refused in production"
        ),
    )
    webhooks_allow_insecure: bool = Field(
        default=False, description="allow http:// and private addresses for webhooks (development only)"
    )
    webhook_secret_key: str | None = Field(
        default=None,
        description="encrypts webhook signing secrets at rest (AES-GCM); in development generated under keys_dir",
    )
    metrics_token: str | None = Field(
        default=None, min_length=16, description="when set, /metrics answers only `Authorization: Bearer <token>`"
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /metrics on this port (the API's own: 404 in production)"
    )
    metrics_host: str = Field(default="0.0.0.0", description="address of the metrics port's listener")  # noqa: S104
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=5.0, gt=0)
    worker_batch_size: int = Field(default=50, ge=1, le=1000)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    #: how often the audit sequencer links recorded events into the chain (PostgreSQL)
    audit_link_seconds: float = Field(default=0.1, gt=0, le=10)
    worker_lease_seconds: int = Field(default=60, ge=5)
    smtp_url: str | None = Field(
        default=None,
        description=(
            "turns e-mail notices on: smtp://[user:password@]host[:port] (plain, or STARTTLS with"
            " OBHVAT_SMTP_STARTTLS), smtps://… (TLS from the first byte, port 465 by default)"
        ),
    )
    smtp_starttls: bool = Field(default=False, description="upgrade an smtp:// connection with STARTTLS")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    mail_from: str = Field(default="obhvat@localhost", description="the From: address of e-mail notices")
    mail_max_attempts: int = Field(default=10, ge=1, le=50)
    mail_backoff_seconds: float = Field(default=30.0, gt=0)
    deadline_check_seconds: float = Field(default=60.0, gt=0)
    retention_child_years: int = Field(
        default=5, ge=1, le=100, description="anonymise a child this long without an open alert or enrolment"
    )
    retention_notes_years: int = Field(
        default=5, ge=1, le=100, description="clear a closed alert's notes and texts this long after closure"
    )
    retention_consent_years: int = Field(
        default=3, ge=1, le=100, description="drop guardian names from consents this long after they ended"
    )
    retention_keys_days: int = Field(
        default=30, ge=1, le=3650, description="purge idempotency records and delivered outbox rows this old"
    )
    retention_free_text_days: int = Field(
        default=365, ge=1, le=3650,
        description="erase break-glass reasons (kept outside the audit chain) this many days after the access",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("postgresql+psycopg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry[:60]!r} is not an address or CIDR, e.g. 10.0.0.0/8,127.0.0.1"
                ) from None
        return ",".join(entries)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("must be smtp://host[:port] or smtps://host[:port], e.g. smtp://mail.example.bg:587")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an http:// or https:// address without a query, e.g. https://obhvat.example.bg")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.environment is Environment.production:
            if not self.pin_secret or len(self.pin_secret) < 32:
                raise ValueError(
                    "OBHVAT_PIN_SECRET must be set to at least 32 characters in production"
                )
            if self.database_url is None or self.database_url.startswith("sqlite"):
                raise ValueError("OBHVAT_DATABASE_URL must name PostgreSQL in production")
            if self.webhooks_allow_insecure:
                raise ValueError("OBHVAT_WEBHOOKS_ALLOW_INSECURE must not be set in production")
            if self.public_url is None:
                raise ValueError("OBHVAT_PUBLIC_URL must be set in production (the address links use)")
            if "*" in self.trusted_proxies.split(","):
                raise ValueError(
                    "OBHVAT_TRUSTED_PROXIES must not be * in production (anyone could choose the client"
                    " address that throttles count); name the ingress's addresses"
                )
            if self.smtp_url and self.smtp_url.startswith("smtp://") and not self.smtp_starttls:
                host = urlsplit(self.smtp_url).hostname or ""
                if host not in {"localhost", "127.0.0.1", "::1"}:
                    raise ValueError(
                        "OBHVAT_SMTP_URL must use smtps:// or OBHVAT_SMTP_STARTTLS=true in production"
                        " (a mail server other than this host's would read the password and notices in clear)"
                    )
            if not self.webhook_secret_key or len(self.webhook_secret_key) < 32:
                raise ValueError(
                    "OBHVAT_WEBHOOK_SECRET_KEY must be set to at least 32 characters in production"
                )
        if bool(self.oidc_issuer) != bool(self.oidc_jwks):
            raise ValueError("OBHVAT_OIDC_ISSUER and OBHVAT_OIDC_JWKS must be set together")
        if self.oidc_client_id and not self.oidc_issuer:
            raise ValueError("OBHVAT_OIDC_CLIENT_ID needs OBHVAT_OIDC_ISSUER and OBHVAT_OIDC_JWKS")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("OBHVAT_OIDC_SCOPES must include openid")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'obhvat.sqlite3').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where links point: OBHVAT_PUBLIC_URL, or the development server's address."""
        return self.public_url or DEVELOPMENT_PUBLIC_URL

    @property
    def console_oidc_enabled(self) -> bool:
        """The console offers sign-in with the OpenID Connect issuer."""
        return bool(self.oidc_issuer and self.oidc_jwks and self.oidc_client_id)

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, and from files in OBHVAT_SECRETS_DIR (each named
    after its variable in lower case, e.g. `obhvat_pin_secret`, as container secrets are
    mounted); a bad value raises `SettingsError` with one line."""
    secrets_dir = os.environ.get("OBHVAT_SECRETS_DIR")
    if secrets_dir:
        overrides.setdefault("_secrets_dir", secrets_dir)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        where = f" OBHVAT_{name}" if name else ""
        raise SettingsError(f"invalid setting{where}: {message}") from None
