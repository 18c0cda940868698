"""Read onpace's settings from the environment (prefix ``ONPACE_``) and ``*_FILE`` secret files.

Every setting ``NAME`` can be given as ``ONPACE_NAME`` or, for secrets kept in files (Docker and
Kubernetes secrets, systemd credentials), as ``ONPACE_NAME_FILE`` naming a file whose content
(trailing newline stripped) is the value. Setting both is an error, so a stale variable never wins
silently.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from onpace.errors import UserError

ENV_PREFIX = "ONPACE_"


class SettingsError(UserError, ValueError):
    """A setting could not be read; the message names the variable and the reason."""


class FileSecretsSource(PydanticBaseSettingsSource):
    """Read ``ONPACE_<NAME>_FILE`` variables: each names a file holding the setting's value."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Return the content of the file named by ``ONPACE_<FIELD>_FILE``, if that is set."""
        variable = f"{ENV_PREFIX}{field_name.upper()}_FILE"
        path = os.environ.get(variable)
        if not path:
            return None, field_name, False
        direct = f"{ENV_PREFIX}{field_name.upper()}"
        if os.environ.get(direct) is not None:
            raise SettingsError(f"{direct} and {variable} are both set; keep only one")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None
        return text.rstrip("\r\n"), field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return the settings found in secret files, keyed by field name."""
        values: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(info, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """onpace's process settings; see the module docstring for how each is given."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = "sqlite:///onpace.db"
    """SQLAlchemy URL of the store; ``postgresql://…`` selects PostgreSQL through psycopg 3."""

    secret_key: SecretStr | None = None
    """Key that signs session cookies; ``onpace serve`` keeps one in the data folder when unset."""

    data_dir: Path | None = None
    """Folder for files onpace keeps (the generated secret key); default: the SQLite store's folder."""

    audit_key: SecretStr | None = None
    """Key of the audit log's MAC chain, kept outside the database (see ``onpace.services.audit_key``)."""

    outbound_allow: str = ""
    """Hosts, addresses and networks (comma-separated; ``10.0.0.0/8``, ``hooks.internal``) that
    fetches and deliveries may reach although they are not public (see ``onpace.outbound``)."""

    env_prefixes: str = "ONPACE_SOURCE_,ONPACE_ROUTE_"
    """Prefixes (comma-separated) of the environment variables ``env:NAME`` in sources and routes
    may read; onpace's own settings (``ONPACE_SECRET_KEY`` …) are never readable."""

    base_url: str = "http://127.0.0.1:8000"
    """Public address of the web app, used for links in notifications and review packs."""

    smtp_url: SecretStr | None = None
    """Apprise mail URL (``mailtos://user:pass@host``) through which people's own email is sent."""

    password_login: bool = True
    """Offer the email-and-password form; turn off when everyone signs in through single sign-on."""

    oidc_issuer: str | None = None
    """OpenID provider for single sign-on (its ``/.well-known/openid-configuration`` is read)."""

    oidc_client_id: str | None = None
    """onpace's client id at the provider; the redirect URI to register is ``BASE_URL/login/sso/callback``."""

    oidc_client_secret: SecretStr | None = None
    """onpace's client secret at the provider (give it as ``ONPACE_OIDC_CLIENT_SECRET_FILE``)."""

    oidc_scopes: str = "openid email profile"
    """Scopes asked for; ``openid`` and ``email`` are needed."""

    oidc_allowed_domains: str = ""
    """Comma-separated email domains that may sign in (empty: any domain the provider vouches for)."""

    oidc_role_claim: str | None = None
    """Claim holding the user's groups or role (e.g. ``groups``), read through ``oidc_role_map``."""

    oidc_role_map: str = ""
    """``value=role`` pairs, comma-separated (``onpace-admins=admin,planning=editor``); first match wins."""

    oidc_default_role: str = "viewer"
    """Role of a user provisioned on first sign-in when no mapped claim value applies."""

    oidc_person_claim: str | None = None
    """Claim holding the person id of the model (else people are matched by email)."""

    oidc_org: str | None = None
    """Organisation that users provisioned by single sign-on join (default: the store's only one)."""

    log_json: bool = False
    """Write logs as JSON lines (production) instead of the console format."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Put ``*_FILE`` secrets after explicit arguments and before plain variables."""
        return (init_settings, FileSecretsSource(settings_cls), env_settings, dotenv_settings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process settings, read once; ``get_settings.cache_clear()`` re-reads them."""
    if os.environ.get(f"{ENV_PREFIX}WEBHOOK_ALLOW_PRIVATE") is not None:
        raise SettingsError(
            f"{ENV_PREFIX}WEBHOOK_ALLOW_PRIVATE is no longer read: list the hosts or networks "
            f"webhooks and sources may reach in {ENV_PREFIX}OUTBOUND_ALLOW (e.g. 10.0.0.0/8)"
        )
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(problems) from None
