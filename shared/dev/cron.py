"""The unix-cron subset Cloud Scheduler jobs use here: five fields, each `*`, `*/n`, `a`, `a-b`,
`a-b/n` or a comma list of those (no names, no `L`/`W`/`#`). Day-of-month and day-of-week follow
cron's rule: when both are restricted, either may match."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class CronError(ValueError):
    """A schedule this matcher cannot read; the message names the field."""


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 is folded into 0)
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> "CronSchedule":
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(f"{expression!r}: a schedule has five fields (minute hour day month weekday)")
        values = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, _FIELDS)]
        return cls(expression=expression, minutes=values[0], hours=values[1], days=values[2], months=values[3],
                   weekdays=frozenset(0 if d == 7 else d for d in values[4]),
                   days_restricted=parts[2] != "*", weekdays_restricted=parts[4] != "*")

    def matches(self, moment: datetime) -> bool:
        """True when the job fires in the minute of `moment` (a time in the job's own time zone)."""
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, name) if step_text else 1
        if step < 1:
            raise CronError(f"{name}: step must be at least 1 in {item!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (_number(x, name) for x in base.split("-", 1))
        else:
            start = _number(base, name)
            end = high if step_text else start
        if not (low <= start <= end <= high):
            raise CronError(f"{name}: {item!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, name: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise CronError(f"{name}: {text!r} is not a number")
    return int(text)
