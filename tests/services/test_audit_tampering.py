"""Tampering with the stored audit log is found: a cut tail, a rewritten chain, a reordering, a downgrade."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from onpace.config import Settings
from onpace.domain import audit_chain
from onpace.services import audit_anchors
from onpace.services.audit import AuditEntry, append_audit, append_audits, verify_audit
from onpace.services.audit_key import audit_key
from onpace.storage.tables import AuditHeadRow, AuditRow

T0 = dt.datetime(2026, 1, 18, 9, 0, tzinfo=dt.UTC)


def write(session: Session, count: int = 10) -> None:
    for i in range(count):
        append_audit(
            session,
            org_id=None,
            at=T0 + dt.timedelta(minutes=i),
            actor="maria",
            action="case.explain",
            subject=f"case:{i}",
            payload={"text": f"note {i}"},
        )


def stored(session: Session) -> list[AuditRow]:
    session.expire_all()
    return list(session.scalars(select(AuditRow).order_by(AuditRow.seq)))


def cut_tail(session: Session, keep: int) -> None:
    session.execute(delete(AuditRow).where(AuditRow.seq > keep))
    session.expire_all()


def test_deleting_the_last_row_is_found_by_the_head_record(session: Session) -> None:
    write(session)
    cut_tail(session, 9)
    assert verify_audit(session) == ["audit row 10: is missing (deleted? the head record counts 10 rows)"]


def test_deleting_the_last_five_rows_names_the_first_missing_one(session: Session) -> None:
    write(session)
    cut_tail(session, 5)
    assert verify_audit(session)[0].startswith("audit row 6: is missing")


def test_a_cut_tail_stays_found_after_later_appends(session: Session) -> None:
    write(session)
    cut_tail(session, 5)
    write(session, 2)
    assert verify_audit(session)[0].startswith(
        "audit row 8: is missing (deleted? the head record counts 12 rows)"
    )


def test_deleting_every_row_and_the_head_is_found_by_an_exported_checkpoint(session: Session) -> None:
    write(session)
    point = audit_anchors.take_checkpoint(session, audit_key(), now=T0 + dt.timedelta(hours=1))
    session.execute(delete(AuditRow))
    session.execute(delete(AuditHeadRow))
    session.execute(delete(audit_anchors.AuditCheckpointRow))
    assert verify_audit(session) == []  # nothing left in the store to tell
    assert verify_audit(session, [point]) == [
        "audit row 1: is missing (deleted? the checkpoint of 2026-01-18 10:00:00 UTC counts 10 rows)"
    ]


def test_a_stored_checkpoint_finds_a_tail_cut_with_the_head_record_deleted(session: Session) -> None:
    write(session)
    audit_anchors.take_checkpoint(session, audit_key(), now=T0 + dt.timedelta(hours=1))
    cut_tail(session, 7)
    session.execute(delete(AuditHeadRow))
    problems = verify_audit(session)
    assert (
        problems[0]
        == "audit row 8: is missing (deleted? the checkpoint of 2026-01-18 10:00:00 UTC counts 10 rows)"
    )
    assert "the audit head record is missing (deleted?)" in problems


def test_a_chain_rewritten_without_the_key_is_found_at_the_first_rewritten_row(session: Session) -> None:
    write(session, 6)
    rows = stored(session)
    forger = b"a key the forger guessed"
    prev = rows[2].hash
    for row in rows[3:]:  # rewrite row 4 onwards and recompute every later MAC
        chain_row = audit_chain.AuditRow(row.seq, row.at, "mallory", row.action, row.subject, row.payload)
        sealed = audit_chain.seal_keyed(chain_row, prev, forger)
        sealed = dataclasses.replace(sealed, key_id=audit_chain.key_id(audit_key().key))
        sealed = dataclasses.replace(
            sealed, hash=audit_chain.row_mac(forger, prev, audit_chain.row_content(sealed))
        )
        session.execute(
            update(AuditRow)
            .where(AuditRow.seq == row.seq)
            .values(actor="mallory", prev_hash=prev, hash=sealed.hash, key_id=sealed.key_id)
        )
        prev = sealed.hash
    session.expire_all()
    assert verify_audit(session) == ["audit row 4: content does not match its MAC (edited or rewritten?)"]


def test_a_chain_downgraded_to_unkeyed_hashes_is_found(session: Session) -> None:
    write(session, 4)
    rows = stored(session)
    prev = audit_chain.GENESIS
    for row in rows:  # recompute the whole chain with the unkeyed scheme 1
        chain_row = audit_chain.AuditRow(row.seq, row.at, row.actor, row.action, row.subject, row.payload)
        sealed = audit_chain.seal(chain_row, prev)
        session.execute(
            update(AuditRow)
            .where(AuditRow.seq == row.seq)
            .values(prev_hash=prev, hash=sealed.hash, scheme=1, key_id=None)
        )
        prev = sealed.hash
    session.expire_all()
    assert verify_audit(session) == ["audit row 4: does not match the head record (rewritten?)"]


def test_swapping_two_rows_is_found_at_the_first_of_them(session: Session) -> None:
    write(session, 5)
    rows = stored(session)
    second, third = rows[1], rows[2]
    values = {
        c: getattr(second, c) for c in ("at", "actor", "action", "subject", "payload", "prev_hash", "hash")
    }
    others = {c: getattr(third, c) for c in values}
    session.execute(update(AuditRow).where(AuditRow.seq == 2).values(hash="x" * 64))
    session.execute(update(AuditRow).where(AuditRow.seq == 3).values(**values))
    session.execute(update(AuditRow).where(AuditRow.seq == 2).values(**others))
    session.expire_all()
    assert verify_audit(session)[0].startswith("audit row 2: ")


def test_rows_written_before_keys_still_verify_and_keyed_rows_continue_them(session: Session) -> None:
    prev = audit_chain.GENESIS
    for seq in (1, 2):
        legacy = audit_chain.seal(
            audit_chain.AuditRow(seq, T0, "ana", "model.saved", "Acme", {"n": seq}), prev
        )
        session.execute(
            insert(AuditRow).values(
                seq=seq,
                org_id=None,
                at=T0,
                actor="ana",
                action="model.saved",
                subject="Acme",
                payload={"n": seq},
                prev_hash=prev,
                hash=legacy.hash,
                scheme=1,
                key_id=None,
            )
        )
        prev = legacy.hash
    # As migration 0006 leaves a store that had rows: a head counting them, not yet MACed.
    session.execute(update(AuditHeadRow).values(row_count=2, head_hash=prev, mac=None, key_id=None))
    assert verify_audit(session) == []
    write(session, 2)
    assert [r.scheme for r in stored(session)] == [1, 1, 2, 2]
    assert verify_audit(session) == []
    session.execute(update(AuditRow).where(AuditRow.seq == 1).values(actor="mallory"))
    session.expire_all()
    assert verify_audit(session) == ["audit row 1: content does not match its hash (edited?)"]


def test_rows_sealed_under_another_key_are_named_with_both_key_ids(session: Session) -> None:
    write(session, 2)
    other = audit_key(Settings(audit_key=SecretStr("another key")))
    problems = verify_audit(session, key=other)
    assert problems[0].startswith("audit row 1: was sealed with audit key ")
    assert audit_chain.key_id(other.key) in problems[0]


def test_the_key_comes_from_the_audit_key_setting_before_the_secret_key() -> None:
    both = audit_key(Settings(audit_key=SecretStr("audit"), secret_key=SecretStr("cookie")))
    derived = audit_key(Settings(secret_key=SecretStr("cookie")))
    assert (both.key, both.origin) == (b"audit", "ONPACE_AUDIT_KEY")
    assert derived.origin == "ONPACE_SECRET_KEY"
    assert derived.key not in (b"cookie", both.key)
    assert audit_key(Settings()).is_development


def test_a_forged_checkpoint_is_refused(session: Session, tmp_path: Path) -> None:
    write(session, 3)
    point = audit_anchors.take_checkpoint(session, audit_key(), now=T0)
    forged = dataclasses.replace(point, row_count=2)
    assert verify_audit(session, [forged]) == [
        "the checkpoint of 2026-01-18 09:00:00 UTC does not match its MAC (edited or forged?)"
    ]


def test_an_export_file_reads_back_and_a_broken_one_is_named(tmp_path: Path, session: Session) -> None:
    write(session, 3)
    point = audit_anchors.take_checkpoint(session, audit_key(), now=T0)
    path = tmp_path / "anchors.json"
    path.write_text(audit_anchors.export_document([point]), encoding="utf-8")
    assert audit_anchors.read_checkpoint_file(path) == [point]
    path.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(audit_anchors.CheckpointFileError, match=r"anchors\.json: not a checkpoint file"):
        audit_anchors.read_checkpoint_file(path)


def test_rows_appended_together_seal_the_same_chain_as_rows_appended_one_by_one(session: Session) -> None:
    write(session, 3)
    entries = [
        AuditEntry(None, T0 + dt.timedelta(hours=1, minutes=i), "maria", "case.act", f"case:{i}", {"n": i})
        for i in range(4)
    ]
    append_audits(session, entries)
    append_audit(
        session, org_id=None, at=T0 + dt.timedelta(hours=2), actor="ivo", action="case.close", subject=None
    )
    rows = stored(session)
    assert [r.seq for r in rows] == list(range(1, 9))
    assert [r.action for r in rows[3:7]] == ["case.act"] * 4
    assert verify_audit(session) == []
    # The head moved with the batch: cutting its last row is found.
    cut_tail(session, 6)
    assert verify_audit(session)[0].startswith("audit row 7: is missing")
