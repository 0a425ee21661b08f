"""The scheduler clock's cron matcher, on the topology's own schedules."""
from __future__ import annotations

from datetime import datetime

import pytest

from shared.dev.cron import CronError, CronSchedule
from shared.topology import TOPOLOGY


def test_every_schedule_of_the_topology_parses():
    for job in TOPOLOGY.scheduler_jobs:
        assert CronSchedule.parse(job.schedule).minutes, job.name


@pytest.mark.parametrize("expression, moment, fires", [
    ("*/10 * * * *", datetime(2025, 1, 15, 6, 20), True),
    ("*/10 * * * *", datetime(2025, 1, 15, 6, 21), False),
    ("0 6 * * *", datetime(2025, 1, 15, 6, 0), True),
    ("0 6 * * *", datetime(2025, 1, 15, 7, 0), False),
    ("15 6 * * *", datetime(2025, 1, 15, 6, 15), True),
    ("5 0 * * *", datetime(2025, 1, 15, 0, 5), True),
    ("* * * * *", datetime(2025, 1, 15, 13, 37), True),
    ("0 9-17/4 * * 1-5", datetime(2025, 1, 15, 13, 0), True),   # a Wednesday, 13 = 9 + 4
    ("0 9-17/4 * * 1-5", datetime(2025, 1, 18, 13, 0), False),  # a Saturday
    ("0 0 1 * 0", datetime(2025, 1, 19, 0, 0), True),           # both restricted: a Sunday is enough
    ("0 0 1 * 0", datetime(2025, 1, 1, 0, 0), True),            # ... and so is the 1st
    ("0 0 1 * 0", datetime(2025, 1, 15, 0, 0), False),
    ("0 0 * * 7", datetime(2025, 1, 19, 0, 0), True),           # 7 is Sunday too
    ("30 6,18 * * *", datetime(2025, 1, 15, 18, 30), True),
])
def test_matches(expression, moment, fires):
    assert CronSchedule.parse(expression).matches(moment) is fires


@pytest.mark.parametrize("expression", ["* * * *", "60 * * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *"])
def test_refuses_what_it_cannot_read(expression):
    with pytest.raises(CronError):
        CronSchedule.parse(expression)
