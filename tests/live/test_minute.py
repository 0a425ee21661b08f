from __future__ import annotations

import pytest

from shared.live.minute import minute_of, running_minute


@pytest.mark.parametrize("status, elapsed, minute, text", [
    (2, 0, 1, "1'"), (2, 59, 1, "1'"), (2, 60, 2, "2'"), (2, 22 * 60 + 5, 23, "23'"),
    (2, 44 * 60 + 59, 45, "45'"), (2, 45 * 60, 46, "45+1'"), (2, 46 * 60 + 1, 47, "45+2'"),
    (4, 0, 46, "46'"), (4, 44 * 60, 90, "90'"), (4, 47 * 60, 93, "90+3'"),
    (5, 0, 91, "91'"), (5, 29 * 60, 120, "120'"), (5, 30 * 60, 121, "120+1'"),
])
def test_running_minutes_count_from_the_period_start_and_show_added_time(status, elapsed, minute, text):
    shown = running_minute(status, 1000, 1000 + elapsed)
    assert (shown.minute, shown.text) == (minute, text)


def test_a_clock_behind_the_kickoff_shows_the_first_minute():
    assert running_minute(2, 1000, 900).text == "1'"


def test_a_running_status_without_its_kickoff_keeps_the_stored_minute():
    state = {"status_id": 4, "minute": 47, "minute_text": "45+2'", "second_half_kickoff_ts": None}
    shown = minute_of(state, 10_000)
    assert (shown.minute, shown.text) == (47, "45+2'")


@pytest.mark.parametrize("status, text", [(1, "NS"), (3, "HT"), (7, "PEN"), (8, "FT"), (9, "DELAYED"), (10, "INT")])
def test_statuses_without_a_clock_show_their_text_and_keep_the_minute(status, text):
    shown = minute_of({"status_id": status, "minute": 38, "minute_text": "38'"}, 10_000)
    assert (shown.minute, shown.text) == (38, text)
