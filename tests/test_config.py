"""Settings come from ONPACE_* variables and ONPACE_*_FILE secret files."""

from __future__ import annotations

from pathlib import Path

import pytest

from onpace.config import Settings, SettingsError, get_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "SECRET_KEY_FILE",
        "LOG_JSON",
        "WEBHOOK_ALLOW_PRIVATE",
        "OUTBOUND_ALLOW",
    ):
        monkeypatch.delenv(f"ONPACE_{name}", raising=False)
    get_settings.cache_clear()


def test_it_defaults_to_an_sqlite_file_in_the_working_directory() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///onpace.db"
    assert settings.outbound_allow == ""
    assert settings.secret_key is None


def test_it_reads_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPACE_DATABASE_URL", "postgresql://db/onpace")
    monkeypatch.setenv("ONPACE_OUTBOUND_ALLOW", "10.0.0.0/8")
    monkeypatch.setenv("ONPACE_LOG_JSON", "1")
    settings = get_settings()
    assert settings.database_url == "postgresql://db/onpace"
    assert settings.outbound_allow == "10.0.0.0/8"
    assert settings.log_json is True


def test_it_reads_a_secret_from_the_file_named_by_a_file_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret-value\n", encoding="utf-8")
    monkeypatch.setenv("ONPACE_SECRET_KEY_FILE", str(secret))
    settings = Settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "s3cret-value"
    assert "s3cret" not in repr(settings)


def test_it_refuses_a_secret_given_both_directly_and_by_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-file", encoding="utf-8")
    monkeypatch.setenv("ONPACE_SECRET_KEY_FILE", str(secret))
    monkeypatch.setenv("ONPACE_SECRET_KEY", "direct")
    with pytest.raises(SettingsError, match="both set"):
        get_settings()


def test_it_names_the_variable_when_a_secret_file_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ONPACE_SECRET_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="ONPACE_SECRET_KEY_FILE: cannot read"):
        get_settings()


def test_it_explains_an_invalid_value_with_the_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPACE_LOG_JSON", "perhaps")
    with pytest.raises(SettingsError, match="ONPACE_LOG_JSON"):
        get_settings()
