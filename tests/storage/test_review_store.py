"""Stored review packs: kept per scope and date, the previous one found for comparison, older rows migrated."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, column, insert, select, table
from sqlalchemy.orm import Session

from onpace.domain.review import ReviewItem, ReviewPack, assemble_sections
from onpace.modelfile import parse_model_text
from onpace.services.model_store import save_model
from onpace.services.review import latest_pack, save_pack, stored_pack
from onpace.storage.db import make_engine, upgrade
from onpace.storage.repositories import review_repo
from onpace.storage.tables import OrgRow, ReviewPackRow
from onpace.storage.types import JsonDoc, UtcDateTime

NOW = dt.datetime(2026, 6, 8, 6, 0, tzinfo=dt.UTC)
MODEL = """\
org: Packco
units:
  - {id: exec, name: Executive team}
  - {id: ops, name: Operations, parent: exec}
people:
  - {id: ceo, name: Dana Ortiz, unit: exec}
"""


def org(session: Session) -> int:
    return save_model(session, parse_model_text(MODEL, "packco.yaml"), by="test", now=NOW).org_id


def pack(as_of: dt.date, unit: str | None = None, *subjects: str) -> ReviewPack:
    items = [
        ReviewItem(
            key=f"new_breaches:{s}",
            section="new_breaches",
            subject=s,
            subject_level="kpi",
            title=s.title(),
            headline=f"{s} is red",
            status="red",
        )
        for s in subjects
    ]
    return ReviewPack(
        org="Packco",
        as_of=as_of,
        generated_at=NOW,
        sections=assemble_sections(items),
        unit=unit,
        unit_name="Operations" if unit else None,
    )


def test_a_saved_pack_is_found_again_whole_by_scope_and_by_id(session: Session) -> None:
    org_id = org(session)
    whole = save_pack(session, org_id, pack(dt.date(2026, 6, 7), None, "orders"), now=NOW)
    ops = save_pack(session, org_id, pack(dt.date(2026, 6, 7), "ops", "waste"), now=NOW)
    assert whole.id is not None
    assert ops.id is not None
    assert latest_pack(session, org_id) == whole
    assert latest_pack(session, org_id, unit="ops") == ops
    assert latest_pack(session, org_id, unit="exec") is None
    assert stored_pack(session, org_id, ops.id) == ops
    assert stored_pack(session, org_id + 1, ops.id) is None


def test_saving_a_scope_and_date_again_replaces_the_pack(session: Session) -> None:
    org_id = org(session)
    save_pack(session, org_id, pack(dt.date(2026, 6, 7), "ops", "orders"), now=NOW)
    again = save_pack(session, org_id, pack(dt.date(2026, 6, 7), "ops", "waste"), now=NOW)
    rows = review_repo.packs_on(session, org_id, "ops", dt.date(2026, 6, 7))
    assert [row.id for row in rows] == [again.id]
    assert list(rows[0].items) == ["new_breaches:waste"]


def test_the_previous_pack_is_the_latest_of_the_same_scope_before_the_date(session: Session) -> None:
    org_id = org(session)
    save_pack(session, org_id, pack(dt.date(2026, 5, 24), "ops", "old"), now=NOW)
    save_pack(session, org_id, pack(dt.date(2026, 5, 31), "ops", "orders"), now=NOW)
    save_pack(session, org_id, pack(dt.date(2026, 6, 1), None, "elsewhere"), now=NOW)
    save_pack(session, org_id, pack(dt.date(2026, 6, 7), "ops", "today"), now=NOW)
    found = review_repo.previous_digest(session, org_id, "ops", dt.date(2026, 6, 7))
    assert found is not None
    as_of, digest = found
    assert as_of == dt.date(2026, 5, 31)
    assert digest == {
        "new_breaches:orders": {
            "section": "new_breaches",
            "subject": "orders",
            "title": "Orders",
            "headline": "orders is red",
            "status": "red",
            "state": None,
        }
    }
    assert review_repo.previous_digest(session, org_id, "ops", dt.date(2026, 5, 24)) is None
    assert review_repo.previous_digest(session, org_id, None, dt.date(2026, 6, 7)) is not None


def test_packs_stored_before_the_digests_existed_are_migrated_with_an_empty_one(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as connection:
            connection.execute(
                insert(OrgRow.__table__).values(
                    name="Oldco", week_start="monday", created_at=NOW, updated_at=NOW
                )
            )
            org_id = connection.execute(select(OrgRow.id)).scalar_one()
            # The table as revision 0002 left it: no digests, no generation time.
            old_packs = table(
                "review_packs",
                column("org_id"),
                column("as_of", Date()),
                column("unit"),
                column("content", JsonDoc),
                column("created_at", UtcDateTime()),
            )
            connection.execute(
                insert(old_packs).values(
                    org_id=org_id, as_of=dt.date(2026, 6, 7), unit=None, content={}, created_at=NOW
                )
            )
        upgrade(engine)
        with Session(engine) as session:
            [row] = session.scalars(select(ReviewPackRow)).all()
        assert row.items == {}
        assert row.generated_at == row.created_at == NOW
    finally:
        engine.dispose()
