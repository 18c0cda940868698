"""The audit hash chain: sealing, verifying, and catching edits, deletions and reorderings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from onpace.domain.audit_chain import (
    GENESIS,
    AuditRow,
    canonical_json,
    first_broken,
    row_content,
    row_hash,
    seal,
)

T0 = dt.datetime(2026, 1, 18, 9, 30, tzinfo=dt.UTC)


def chain(count: int = 4) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev = GENESIS
    for seq in range(1, count + 1):
        row = seal(
            AuditRow(seq, T0 + dt.timedelta(minutes=seq), "maria", "case.explain", f"case:{seq}", {"n": seq}),
            prev,
        )
        rows.append(row)
        prev = row.hash
    return rows


def test_a_sealed_chain_verifies() -> None:
    rows = chain()
    assert first_broken(rows) is None
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_row() -> None:
    import hashlib

    row = chain(1)[0]
    text = GENESIS + canonical_json(row_content(row))
    assert row.hash == hashlib.sha256(text.encode()).hexdigest()
    assert row_hash(GENESIS, row_content(row)) == row.hash


def test_an_edited_payload_is_caught_at_its_row() -> None:
    rows = chain()
    rows[2] = dataclasses.replace(rows[2], payload={"n": 99})
    broken = first_broken(rows)
    assert broken is not None
    assert (broken.seq, "edited" in broken.reason) == (3, True)


def test_an_edited_row_rehashed_in_place_breaks_the_next_link() -> None:
    rows = chain()
    rows[1] = seal(dataclasses.replace(rows[1], actor="mallory"), rows[0].hash)
    broken = first_broken(rows)
    assert broken is not None
    assert broken.seq == 3


def test_a_deleted_row_is_reported_missing() -> None:
    rows = chain()
    del rows[1]
    broken = first_broken(rows)
    assert broken is not None
    assert (broken.seq, str(broken)) == (2, "audit row 2: is missing (deleted?)")


def test_a_duplicated_seq_is_caught() -> None:
    rows = chain()
    rows.insert(2, rows[1])
    broken = first_broken(rows)
    assert broken is not None
    assert broken.seq == 2


def test_a_naive_timestamp_read_back_from_the_store_hashes_like_the_aware_one() -> None:
    row = chain(1)[0]
    naive = dataclasses.replace(row, at=row.at.replace(tzinfo=None))
    assert first_broken([naive]) is None


def test_canonical_json_is_independent_of_key_order_and_tuple_or_list() -> None:
    assert canonical_json({"b": (1, 2), "a": {"y": 1, "x": dt.date(2026, 1, 2)}}) == canonical_json(
        {"a": {"x": "2026-01-02", "y": 1}, "b": [1, 2]}
    )


def test_an_empty_chain_holds() -> None:
    assert first_broken([]) is None
