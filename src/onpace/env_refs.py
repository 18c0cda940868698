"""Decide which environment variables ``env:NAME`` in a source or a notify route may read.

A source option or a route URL written ``env:NAME`` is read from the environment when used,
so secrets stay out of the model. Unlimited, that would let anyone who can edit the model read
any variable of the server — ``ONPACE_SECRET_KEY`` included — by pointing a route at a
receiver of their own with ``env:ONPACE_SECRET_KEY`` in its URL. So:

- only variables whose names start with one of the prefixes of the setting
  ``ONPACE_ENV_PREFIXES`` are readable (default ``ONPACE_SOURCE_,ONPACE_ROUTE_``:
  ``env:ONPACE_SOURCE_WMS_DB_URL``, ``env:ONPACE_ROUTE_OPS_SLACK_URL``);
- onpace's own settings (``ONPACE_SECRET_KEY``, ``ONPACE_AUDIT_KEY``, ``ONPACE_DATABASE_URL`` …
  and their ``_FILE`` forms) are never readable, whatever the prefixes say.

The environment handed to connectors and notifiers is filtered once, where the process reads
it (:func:`readable_environment`); :func:`refusal` gives the sentence that says why a name
cannot be read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from onpace.config import ENV_PREFIX, Settings, get_settings

DEFAULT_PREFIXES = ("ONPACE_SOURCE_", "ONPACE_ROUTE_")


def setting_names() -> frozenset[str]:
    """Return the variable names of onpace's own settings (``ONPACE_X`` and ``ONPACE_X_FILE``)."""
    names = {f"{ENV_PREFIX}{field.upper()}" for field in Settings.model_fields}
    return frozenset(names | {f"{name}_FILE" for name in names})


def prefixes(settings: Settings | None = None) -> tuple[str, ...]:
    """Return the readable prefixes the settings give."""
    text = (settings or get_settings()).env_prefixes
    return tuple(p.strip() for p in text.split(",") if p.strip())


def refusal(name: str, allowed: Sequence[str] | None = None) -> str | None:
    """Return why ``env:NAME`` may not be read, or None when it may."""
    allowed = prefixes() if allowed is None else allowed
    never = setting_refusal(name)
    if never is not None:
        return never
    if not any(name.startswith(prefix) for prefix in allowed):
        shown = " or ".join(allowed) or "(no prefix is set)"
        return f"env:{name} may not be read: names must start with {shown} (setting ONPACE_ENV_PREFIXES)"
    return None


def readable_environment(environ: Mapping[str, str], allowed: Sequence[str] | None = None) -> dict[str, str]:
    """Return the variables of ``environ`` that ``env:`` may read."""
    allowed = prefixes() if allowed is None else allowed
    return {name: value for name, value in environ.items() if refusal(name, allowed) is None}


def setting_refusal(name: str) -> str | None:
    """Return why ``env:NAME`` may never be read (it names an onpace setting), or None."""
    if name.upper() in setting_names():
        return f"env:{name} names one of onpace's own settings, which sources and routes may never read"
    return None


def missing_hint(name: str) -> str:
    """Return the hint added when ``env:NAME`` is not found: the prefix rule, when ``name`` breaks it."""
    refused = refusal(name)
    return f"; {refused}" if refused is not None else ""
