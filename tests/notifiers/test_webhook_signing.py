"""Signature verification as a receiver would use it."""

from __future__ import annotations

from onpace.notifiers.webhook import sign, verify_signature

BODY = b'{"event":"case_opened","subject":"wms_orders"}'


def test_a_fresh_signature_over_the_exact_body_verifies() -> None:
    signature = sign("k", "1767225600", BODY)
    assert signature.startswith("sha256=")
    assert verify_signature("k", "1767225600", BODY, signature, 300, 1767225700)


def test_it_matches_an_independent_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert sign("k", "1767225600", BODY) == f"sha256={expected}"


def test_a_tampered_body_does_not_verify() -> None:
    signature = sign("k", "1767225600", BODY)
    assert not verify_signature("k", "1767225600", BODY.replace(b"wms", b"crm"), signature, 300, 1767225600)


def test_a_replayed_old_request_does_not_verify() -> None:
    signature = sign("k", "1767225600", BODY)
    assert not verify_signature("k", "1767225600", BODY, signature, 300, 1767225600 + 301)


def test_a_changed_timestamp_or_wrong_secret_or_garbage_does_not_verify() -> None:
    signature = sign("k", "1767225600", BODY)
    assert not verify_signature("k", "1767225601", BODY, signature, 300, 1767225600)
    assert not verify_signature("other", "1767225600", BODY, signature, 300, 1767225600)
    assert not verify_signature("k", "soon", BODY, signature, 300, 1767225600)
    assert not verify_signature("k", "1767225600", BODY, "sha256=00", 300, 1767225600)
