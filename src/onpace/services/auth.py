"""Who may do what: the signed-in principal and the permission rules every door applies.

Roles (DESIGN.md §2): ``admin`` may do everything; ``editor`` edits the model and pushes
actuals; ``owner`` explains and acts on their own cases and checks in on what they own;
``viewer`` reads. A read-scoped API token reads only, whatever its user's role. Editors and
admins are also owners of what the model gives them, so they work their own cases too.
The rules are plain functions of values so the API and the pages decide the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from onpace.domain.cases import Case
from onpace.domain.model import Model
from onpace.services.users import Role

Via = Literal["session", "token"]


@dataclass(frozen=True)
class Principal:
    """The user behind a request: role, the model person they are (if any), and the token scope."""

    user_id: int
    email: str
    name: str
    role: Role
    person_id: str | None
    org_id: int | None
    via: Via = "session"
    scope: Literal["read", "write"] = "write"

    @property
    def writes(self) -> bool:
        """Return whether this request may change anything at all."""
        return self.scope == "write" and self.role != "viewer"

    @property
    def admin(self) -> bool:
        """Return whether the user is an admin using a write-scoped credential."""
        return self.role == "admin" and self.writes


def may_edit_model(who: Principal) -> bool:
    """Return whether ``who`` may create and change model objects (admins and editors)."""
    return who.writes and who.role in ("admin", "editor")


def may_push_actuals(who: Principal) -> bool:
    """Return whether ``who`` may push actuals (admins and editors: systems use their tokens)."""
    return may_edit_model(who)


def may_manage_users(who: Principal) -> bool:
    """Return whether ``who`` may add users and see everyone's tokens."""
    return who.admin


def is_party(who: Principal, case: Case) -> bool:
    """Return whether ``who``'s person owns, holds or takes part in ``case``."""
    person = who.person_id
    return person is not None and (person in (case.owner, case.holder) or person in case.participants)


def may_work_case(who: Principal, case: Case) -> bool:
    """Return whether ``who`` may explain, act, comment on or close ``case``.

    Admins may work any case; anyone else who writes may work the cases they are party to.
    """
    if not who.writes:
        return False
    return who.admin or is_party(who, case)


def owned_subjects(model: Model, person: str | None) -> set[str]:
    """Return the ids of the objectives, KRs and KPIs ``person`` owns."""
    if person is None:
        return set()
    owned = {o.id for o in model.objectives if o.owner == person}
    owned |= {kr.id for kr in model.key_results if kr.owner == person}
    owned |= {k.id for k in model.kpis if person in k.owners}
    return owned


def may_check_in(who: Principal, model: Model, subject: str) -> bool:
    """Return whether ``who`` may check in on ``subject`` (a KR or objective they own; admins: any)."""
    if not who.writes:
        return False
    return who.admin or subject in owned_subjects(model, who.person_id)


def may_request_rebaseline(who: Principal, model: Model, subject: str) -> bool:
    """Return whether ``who`` may ask to re-baseline ``subject``: its owner, an editor or an admin."""
    if not who.writes:
        return False
    return who.role in ("admin", "editor") or subject in owned_subjects(model, who.person_id)


def token_refusal(who: Principal, scope: str) -> str | None:
    """Return why ``who`` may not create an API token of ``scope``, or None when they may.

    Only a signed-in session creates tokens (a token never mints another, whatever its scope:
    a leaked read token must not become a write token), and viewers create read tokens only.
    The API and the pages both ask this.
    """
    if who.via != "session":
        return "create tokens from a signed-in session or the command line, not with another token"
    if scope != "read" and who.role == "viewer":
        return "viewers may create read-only tokens only"
    return None


def may_revoke_tokens(who: Principal) -> bool:
    """Return whether ``who`` may revoke tokens at all (not with a read-only token)."""
    return who.scope == "write"
