"""Local staff passwords: argon2 hashes, and accounts without one that no password opens."""

from __future__ import annotations

import pytest

from domain.staff import _DUMMY_HASH, hash_password, password_matches


def test_the_right_password_matches_and_a_wrong_one_does_not():
    stored = hash_password("correct horse battery")
    assert password_matches(stored, "correct horse battery")
    assert not password_matches(stored, "correct horse batter")


@pytest.mark.parametrize("stored", ["", None])
def test_an_account_without_a_password_matches_none_not_even_the_dummy_checked_in_its_place(stored):
    assert password_matches(_DUMMY_HASH, "not-a-real-password")  # what an empty hash is checked against
    assert not password_matches(stored, "not-a-real-password")
    assert not password_matches(stored, "")
