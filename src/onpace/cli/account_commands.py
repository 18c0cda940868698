"""Commands for who may do what, and the record of it: the audit log, users and API tokens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from onpace.cli.app import (
    app,
    err,
    fail,
    find_org,
    now,
    out,
    user_errors,
)
from onpace.cli.org import current_org

audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint file from `onpace audit checkpoint -o`.")
    ] = None,
) -> None:
    """Check that no audit row was edited, deleted or reordered; exit 1 naming the first bad row."""
    from onpace.services.audit import verify_audit
    from onpace.services.audit_anchors import read_checkpoint_file
    from onpace.services.audit_key import audit_key
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        key = audit_key()
        given = read_checkpoint_file(checkpoint) if checkpoint is not None else []
        upgrade(engine)
        with session_for(engine) as session:
            problems = verify_audit(session, given, key=key)
    if key.is_development:
        err.print(
            "note: no audit key is set (ONPACE_AUDIT_KEY or ONPACE_SECRET_KEY); the public development "
            "key cannot show a chain rewritten by someone who knows it",
            markup=False,
            soft_wrap=True,
        )
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)
    if problems:
        fail(f"the audit log is broken ({len(problems)} problem(s)); the first bad row is named first")
    out.print(
        f"audit log intact ({len(given)} checkpoint(s) from file checked)" if given else "audit log intact"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the checkpoints to FILE (merged with it); stdout when absent."
        ),
    ] = None,
) -> None:
    """Verify the chain, store a checkpoint of its length and head, and export every checkpoint."""
    from onpace.services import audit_anchors
    from onpace.services.audit import verify_audit
    from onpace.services.audit_key import audit_key
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        key = audit_key()
        earlier = audit_anchors.read_checkpoint_file(output) if output is not None and output.exists() else []
        upgrade(engine)
        with session_for(engine) as session:
            problems = verify_audit(session, earlier, key=key)
            if problems:
                for problem in problems:
                    err.print(problem, markup=False, soft_wrap=True)
                fail("the audit log is broken; no checkpoint taken")
            point = audit_anchors.take_checkpoint(session, key, now=now())
            everything = audit_anchors.merge(earlier, audit_anchors.stored_checkpoints(session))
            session.commit()
    document = audit_anchors.export_document(everything)
    if output is None:
        out.print(document, markup=False, end="", soft_wrap=True)
        return
    output.write_text(document, encoding="utf-8")
    err.print(
        f"checkpoint: {point.row_count} rows; wrote {len(everything)} checkpoint(s) to {output}", markup=False
    )


user_app = typer.Typer(help="Manage the people who sign in to the web app.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The address they sign in with.")],
    name: Annotated[str, typer.Option(help="Their name.")],
    role: Annotated[str, typer.Option(help="admin, editor, owner or viewer.")] = "viewer",
    person: Annotated[
        str | None, typer.Option(help="Their person id in the model (owners need one).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Their password (asked for when omitted; none: API tokens only).", hide_input=True),
    ] = None,
) -> None:
    """Add a user who may sign in (argon2-hashed password) or hold API tokens.

    An existing user named with ``--org`` of another organisation joins it with ``--role`` (and ``--person``).
    """
    from onpace.services.account_changes import COMMAND_LINE, add_user
    from onpace.services.memberships import add_membership
    from onpace.services.users import find_user
    from onpace.storage.db import make_engine, session_for, upgrade

    if current_org() is not None:
        engine = make_engine()
        with user_errors(), session_for(engine) as session:
            upgrade(engine)
            existing = find_user(session, email)
            if existing is not None:
                org = find_org(session)
                if existing.org_id != org.id:
                    add_membership(session, email=email, org=org.name, role=role, person_id=person, now=now())
                    session.commit()
                    out.print(f"user {email} now also works in {org.name} as {role}", markup=False)
                    return
    if password is None and sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            add_user(
                session,
                by=COMMAND_LINE,
                email=email,
                name=name,
                role=role,
                password=password,
                now=now(),
                person_id=person,
                org=find_org(session).name if current_org() or len(_org_names(session)) > 1 else None,
            )
            session.commit()
    out.print(f"user {email} added as {role}")


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password: Annotated[
        str | None, typer.Option(help="The new password (asked for when omitted).", hide_input=True)
    ] = None,
) -> None:
    """Set a user's password; every session of theirs ends at once."""
    from onpace.services.account_changes import COMMAND_LINE, change_password
    from onpace.storage.db import make_engine, session_for, upgrade

    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            change_password(session, email, password, by=COMMAND_LINE, now=now())
            session.commit()
    out.print(f"password of {email} changed; their sessions are ended")


def _org_names(session: Any) -> list[str]:
    from onpace.storage.repositories.model_repo import org_names

    return list(org_names(session))


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    from onpace.services.account_changes import COMMAND_LINE, create_token
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            new = create_token(session, by=COMMAND_LINE, email=email, name=name, scope=scope, now=now())
            session.commit()
    err.print(f"token {new.id} ({new.scope}) for {email} — copy it now, it is not shown again:")
    sys.stdout.write(new.token + "\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token number.")]) -> None:
    """Revoke an API token."""
    from onpace.services.account_changes import COMMAND_LINE, revoke_token
    from onpace.storage.db import make_engine, session_for, upgrade

    engine = make_engine()
    with user_errors():
        upgrade(engine)
        with session_for(engine) as session:
            revoke_token(session, token_id, by=COMMAND_LINE, now=now())
            session.commit()
    out.print(f"token {token_id} revoked")
