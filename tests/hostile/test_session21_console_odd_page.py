"""Hostile review (session 21): the console's `page` argument is checked with `str.isdigit()`, which
is true for superscripts and other Unicode digits that `int()` refuses: `/pipeline?page=²` (also
/coverage and /leaderboards/<id>) answers HTTP 500 "Error 500" from an uncaught ValueError instead
of the 400 "page must be a positive whole number" that `?page=abc` gets."""
from __future__ import annotations

import pytest

from tests.console.conftest import admin, app, seeded  # noqa: F401 - the console's fixtures


@pytest.mark.parametrize("path", ["/pipeline?page=%C2%B2", "/coverage?page=%C2%B2"])
def test_a_superscript_page_number_is_a_400(admin, path):  # noqa: F811
    response = admin.get(path)
    # observed: 500
    assert response.status_code == 400, response.status_code
