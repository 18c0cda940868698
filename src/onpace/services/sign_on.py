"""Single sign-on: turn the claims an OpenID provider vouches for into an onpace user.

The protocol (discovery, authorization code with PKCE, ID token checks) lives in
:mod:`onpace.web.sign_on`; this module decides who the verified claims are:

- the email must be present, not marked unverified, and in an allowed domain when domains are set;
- an existing user with that email signs in (unless deactivated); a new one is provisioned into
  the configured organisation (or the store's only one);
- the role comes from the role claim through the role map when one matches (the provider is then
  the source of truth, also for existing users), else a new user gets the default role;
- the person comes from the person claim, else from the model person with the same email.

Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.config import Settings, SettingsError
from onpace.errors import UserError
from onpace.services.users import Role, check_role, find_user, is_role, normalise_email
from onpace.storage.repositories import model_repo
from onpace.storage.tables import PersonRow, UserRow


class SignOnRefusedError(UserError):
    """The provider vouched for someone onpace does not let in; the message says why."""


@dataclass(frozen=True)
class SignOnPolicy:
    """Who may sign in through the provider, and how claims map to roles and people."""

    allowed_domains: frozenset[str] = frozenset()
    role_claim: str | None = None
    role_map: tuple[tuple[str, Role], ...] = ()
    default_role: Role = "viewer"
    person_claim: str | None = None
    org: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SignOnPolicy:
        """Read the policy from the ``ONPACE_OIDC_*`` settings; raise SettingsError for a bad map."""
        pairs: list[tuple[str, Role]] = []
        for item in filter(None, (part.strip() for part in settings.oidc_role_map.split(","))):
            value, sep, role = item.rpartition("=")
            if not sep or not value.strip() or not is_role(role.strip()):
                raise SettingsError(
                    f"ONPACE_OIDC_ROLE_MAP: {item!r} is not `claim value=role` with role one of "
                    "admin, editor, owner, viewer"
                )
            pairs.append((value.strip(), check_role(role.strip())))
        if not is_role(settings.oidc_default_role):
            raise SettingsError("ONPACE_OIDC_DEFAULT_ROLE must be one of admin, editor, owner, viewer")
        domains = frozenset(
            d.strip().lower().lstrip("@") for d in settings.oidc_allowed_domains.split(",") if d.strip()
        )
        return cls(
            allowed_domains=domains,
            role_claim=settings.oidc_role_claim,
            role_map=tuple(pairs),
            default_role=check_role(settings.oidc_default_role),
            person_claim=settings.oidc_person_claim,
            org=settings.oidc_org,
        )


def mapped_role(claims: Mapping[str, object], policy: SignOnPolicy) -> Role | None:
    """Return the role the role claim maps to (a string or a list of groups), or None."""
    if policy.role_claim is None:
        return None
    raw = claims.get(policy.role_claim)
    values = (
        {str(v) for v in raw} if isinstance(raw, list | tuple) else ({str(raw)} if raw is not None else set())
    )
    return next((role for value, role in policy.role_map if value in values), None)


def verified_email(claims: Mapping[str, object], policy: SignOnPolicy) -> str:
    """Return the claims' email, normalised; refuse a missing, unverified or disallowed one."""
    raw = claims.get("email")
    if not isinstance(raw, str) or not raw.strip():
        raise SignOnRefusedError("the identity provider sent no email address; ask for the `email` scope")
    if claims.get("email_verified") is False:
        raise SignOnRefusedError(f"the identity provider has not verified {raw}")
    email = normalise_email(raw)
    domain = email.rpartition("@")[2]
    if policy.allowed_domains and domain not in policy.allowed_domains:
        raise SignOnRefusedError(
            f"{email} may not sign in here: only {', '.join(sorted(policy.allowed_domains))}"
        )
    return email


def sign_on(
    session: Session, claims: Mapping[str, object], policy: SignOnPolicy, *, now: dt.datetime
) -> UserRow:
    """Return the user the claims are, provisioning them on first sign-in (flushed, not committed)."""
    email = verified_email(claims, policy)
    role = mapped_role(claims, policy)
    user = find_user(session, email)
    if user is not None:
        if not user.active:
            raise SignOnRefusedError(f"the account {email} is deactivated; ask an admin")
        if role is not None:
            user.role = role
        if user.person_id is None and user.org_id is not None:
            user.person_id = _person_of(session, user.org_id, email, claims, policy)
        session.flush()
        return user
    org_id = (
        model_repo.find_org(session, policy.org).id if (policy.org or model_repo.org_names(session)) else None
    )
    name = claims.get("name")
    user = UserRow(
        org_id=org_id,
        email=email,
        name=str(name).strip() if isinstance(name, str) and name.strip() else email.partition("@")[0],
        person_id=_person_of(session, org_id, email, claims, policy) if org_id is not None else None,
        role=role or policy.default_role,
        password_hash=None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _person_of(
    session: Session, org_id: int, email: str, claims: Mapping[str, object], policy: SignOnPolicy
) -> str | None:
    alive = (PersonRow.org_id == org_id, PersonRow.archived_at.is_(None))
    if policy.person_claim is not None:
        wanted = claims.get(policy.person_claim)
        if wanted is not None:
            found = session.scalar(select(PersonRow.id).where(*alive, PersonRow.id == str(wanted)))
            if found is not None:
                return found
    return session.scalar(select(PersonRow.id).where(*alive, func.lower(PersonRow.email) == email).limit(1))
