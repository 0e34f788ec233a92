"""Configuration from OBHVAT_* variables: a bad value is refused with one line naming the
variable, and the command line prints that line and exits non-zero."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.core.settings import Environment, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.startswith("OBHVAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OBHVAT_DATA_DIR", str(tmp_path))


def refusal(**env: str) -> str:
    mp = pytest.MonkeyPatch()
    try:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(SettingsError) as caught:
            load_settings()
    finally:
        mp.undo()
    message = str(caught.value)
    assert "\n" not in message.strip(), message
    assert len(message) < 300, message
    return message


def test_defaults_need_no_configuration(tmp_path) -> None:
    settings = load_settings()
    assert settings.environment is Environment.development
    assert settings.token_lifetime_seconds == 900
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.is_sqlite
    assert str(tmp_path) in settings.effective_database_url


def test_token_lifetime_over_the_cap_is_refused_by_name() -> None:
    assert "OBHVAT_TOKEN_LIFETIME_SECONDS" in refusal(OBHVAT_TOKEN_LIFETIME_SECONDS="5000")


def test_token_lifetime_that_is_not_a_number_is_refused_by_name() -> None:
    assert "OBHVAT_TOKEN_LIFETIME_SECONDS" in refusal(OBHVAT_TOKEN_LIFETIME_SECONDS="fifteen")


def test_unknown_database_driver_is_refused_by_name() -> None:
    assert "OBHVAT_DATABASE_URL" in refusal(OBHVAT_DATABASE_URL="mysql://x")


def test_refusal_does_not_echo_a_database_password() -> None:
    message = refusal(OBHVAT_DATABASE_URL="mysql://obhvat:S3cretDbPass@db.example/obhvat")
    assert "OBHVAT_DATABASE_URL" in message
    assert "S3cretDbPass" not in message


def test_postgres_url_is_accepted_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBHVAT_DATABASE_URL", "postgresql://u@db.example/obhvat")
    settings = load_settings()
    assert settings.effective_database_url == "postgresql+psycopg://u@db.example/obhvat"
    assert not settings.is_sqlite


def test_production_without_pin_secret_is_refused() -> None:
    message = refusal(
        OBHVAT_ENVIRONMENT="production", OBHVAT_DATABASE_URL="postgresql://u@db.example/obhvat"
    )
    assert "OBHVAT_PIN_SECRET" in message


def test_production_with_a_short_pin_secret_is_refused_without_echoing_it() -> None:
    message = refusal(
        OBHVAT_ENVIRONMENT="production",
        OBHVAT_DATABASE_URL="postgresql://u@db.example/obhvat",
        OBHVAT_PIN_SECRET="short-secret-xyz",
    )
    assert "OBHVAT_PIN_SECRET" in message
    assert "short-secret-xyz" not in message


def test_production_on_sqlite_is_refused() -> None:
    message = refusal(OBHVAT_ENVIRONMENT="production", OBHVAT_PIN_SECRET="p" * 40)
    assert "OBHVAT_DATABASE_URL" in message


def test_production_with_real_secrets_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBHVAT_ENVIRONMENT", "production")
    monkeypatch.setenv("OBHVAT_DATABASE_URL", "postgresql://u@db.example/obhvat")
    monkeypatch.setenv("OBHVAT_PIN_SECRET", "p" * 40)
    monkeypatch.setenv("OBHVAT_WEBHOOK_SECRET_KEY", "w" * 40)
    monkeypatch.setenv("OBHVAT_PUBLIC_URL", "https://obhvat.example.bg/")
    settings = load_settings()
    assert settings.environment is Environment.production
    assert settings.effective_public_url == "https://obhvat.example.bg"


def test_production_without_a_public_url_is_refused() -> None:
    message = refusal(
        OBHVAT_ENVIRONMENT="production", OBHVAT_DATABASE_URL="postgresql://u@db.example/obhvat",
        OBHVAT_PIN_SECRET="p" * 40,
    )
    assert "OBHVAT_PUBLIC_URL" in message


@pytest.mark.parametrize("url", ["obhvat.example.bg", "ftp://obhvat.example.bg", "https://", "https://x.bg/?a=1"])
def test_a_public_url_that_is_not_an_http_address_is_refused(url: str) -> None:
    assert "OBHVAT_PUBLIC_URL" in refusal(OBHVAT_PUBLIC_URL=url)


def test_links_point_at_the_development_server_by_default() -> None:
    assert load_settings().effective_public_url == "http://127.0.0.1:8000"


def test_production_without_a_webhook_secret_key_is_refused() -> None:
    message = refusal(
        OBHVAT_ENVIRONMENT="production",
        OBHVAT_DATABASE_URL="postgresql://u@db.example/obhvat",
        OBHVAT_PIN_SECRET="p" * 40,
        OBHVAT_PUBLIC_URL="https://obhvat.example.bg",
    )
    assert "OBHVAT_WEBHOOK_SECRET_KEY" in message


def test_a_short_metrics_token_is_refused_by_name() -> None:
    assert "OBHVAT_METRICS_TOKEN" in refusal(OBHVAT_METRICS_TOKEN="short")


def test_unknown_log_level_is_refused_by_name() -> None:
    assert "OBHVAT_LOG_LEVEL" in refusal(OBHVAT_LOG_LEVEL="LOUD")


def test_oidc_issuer_without_jwks_is_refused() -> None:
    message = refusal(OBHVAT_OIDC_ISSUER="https://login.example")
    assert "OBHVAT_OIDC_JWKS" in message


def test_cli_prints_the_one_line_and_exits_non_zero(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"OBHVAT_TOKEN_LIFETIME_SECONDS": "5000"}
    )
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    output = result.output.strip()
    assert "OBHVAT_TOKEN_LIFETIME_SECONDS" in output
    assert len(output.splitlines()) == 1, output
    assert "Traceback" not in output
    assert not (tmp_path / "obhvat.sqlite3").exists()  # nothing was migrated


def test_trusting_every_proxy_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    production = {
        "OBHVAT_ENVIRONMENT": "production",
        "OBHVAT_DATABASE_URL": "postgresql://u@db.example/obhvat",
        "OBHVAT_PIN_SECRET": "p" * 40,
        "OBHVAT_WEBHOOK_SECRET_KEY": "w" * 40,
        "OBHVAT_PUBLIC_URL": "https://obhvat.example.bg",
    }
    # with `*` uvicorn takes the client-supplied X-Forwarded-For: any caller picks its address
    message = refusal(**production, OBHVAT_TRUSTED_PROXIES="10.0.0.0/8, *")
    assert "OBHVAT_TRUSTED_PROXIES" in message
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OBHVAT_TRUSTED_PROXIES", " 10.244.0.0/16, 127.0.0.1 ,")
    assert load_settings().trusted_proxies == "10.244.0.0/16,127.0.0.1"


def test_trusted_proxies_default_to_loopback_and_must_be_addresses() -> None:
    assert load_settings().trusted_proxies == "127.0.0.1,::1"
    assert "OBHVAT_TRUSTED_PROXIES" in refusal(OBHVAT_TRUSTED_PROXIES="ingress.example,10.0.0.1")
