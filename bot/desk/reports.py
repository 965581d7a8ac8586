"""Reports (実績): the numbers a hub shows for its work, counted from its cases.

Hubs are asked to show what they did: how many cases, about what, from which
towns, at what hours, and how soon someone picked them up. This module owns
those numbers and the anonymous per-case CSV rows. It is pure: it takes cases
already loaded (``bot.web.reports`` picks the period and the regions) and does
no I/O, so every figure can be checked by hand.

Time of day and weekday are those of ``opened_at`` in Asia/Tokyo. Office hours
are weekdays 9:00-17:00 (9:00 is inside, 17:00 is outside); everything else,
weekends included, is after hours. Public holidays are not known to the code: a
holiday on a weekday counts as a working day, so in weeks with a holiday the
after-hours share is a little low.

Time to claim is ``claimed_at - escalated_at`` (from entering the queue to a
coordinator taking the case), for cases that have both; a negative difference
(clocks of two instances) counts as zero. Percentiles use the nearest-rank
definition: the p-th percentile of n sorted values is the value at rank
ceil(p * n / 100), counting from 1. It is always a time that really happened
and reads plainly: at least p% of the cases were claimed within it. The median
is the 50th percentile by that rule, so with an even count it is the lower of
the two middle values, not their mean.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.desk.paging import TOKYO
from storage.models import Case

UNKNOWN_TOWN = "未確認"
UNFINISHED = "未完了"  # the outcome of a case not resolved yet
OFFICE_OPENS, OFFICE_CLOSES = 9, 17  # hours, Asia/Tokyo, Monday to Friday
SATURDAY = 5
CSV_COLUMNS = (
    "id",
    "region",
    "channel",
    "town",
    "intents",
    "urgent",
    "opened_at",
    "escalated_at",
    "claimed_at",
    "minutes_to_claim",
    "resolved_at",
    "outcome",
    "after_hours",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula

#: (label, count) pairs, most first, ties by label.
Counts = tuple[tuple[str, int], ...]


def percentile(values: Sequence[float], p: int) -> float | None:
    """The nearest-rank ``p``-th percentile (1 <= p <= 100) of ``values``; None when there are none."""
    if not 1 <= p <= 100:
        raise ValueError(f"percentile must be 1..100, not {p}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


@dataclass(frozen=True, slots=True)
class ClaimTimes:
    """Minutes from the queue to a coordinator, over ``cases`` cases (median and p90 None when 0)."""

    cases: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> ClaimTimes:
        return cls(len(minutes), percentile(minutes, 50), percentile(minutes, 90))


@dataclass(frozen=True, slots=True)
class Report:
    total: int
    urgent: int
    by_intent: Counts  # a case with two intents counts in both
    by_town: Counts  # no town: UNKNOWN_TOWN
    by_hour: tuple[int, ...]  # 24 counts, hour 0 first (Asia/Tokyo)
    by_weekday: tuple[int, ...]  # 7 counts, Monday first (Asia/Tokyo)
    by_channel: Counts
    by_outcome: Counts  # not resolved yet: UNFINISHED
    claim_all: ClaimTimes
    claim_urgent: ClaimTimes
    after_hours: int  # cases opened outside weekdays 9:00-17:00
    weekend: int  # cases opened on a Saturday or Sunday

    @property
    def after_hours_share(self) -> float | None:
        return self.after_hours / self.total if self.total else None

    @property
    def weekend_share(self) -> float | None:
        return self.weekend / self.total if self.total else None


def local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(TOKYO)


def is_weekend(at: dt.datetime) -> bool:
    return local(at).weekday() >= SATURDAY


def is_after_hours(at: dt.datetime) -> bool:
    """Outside Monday-Friday 9:00-17:00 in Asia/Tokyo (public holidays are not known: they count as weekdays)."""
    return is_weekend(at) or not OFFICE_OPENS <= local(at).hour < OFFICE_CLOSES


def minutes_to_claim(case: Case) -> float | None:
    """Minutes from entering the queue to being claimed; None unless the case has both times."""
    if case.escalated_at is None or case.claimed_at is None:
        return None
    return max(0.0, (case.claimed_at - case.escalated_at).total_seconds() / 60)


def _ranked(counter: Counter[str]) -> Counts:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _claim_minutes(cases: Iterable[Case]) -> list[float]:
    return [minutes for case in cases if (minutes := minutes_to_claim(case)) is not None]


def make_report(cases: Sequence[Case]) -> Report:
    """Count ``cases`` (already filtered to a period and regions)."""
    hours, weekdays = [0] * 24, [0] * 7
    for case in cases:
        opened = local(case.opened_at)
        hours[opened.hour] += 1
        weekdays[opened.weekday()] += 1
    urgent = [case for case in cases if case.urgent]
    return Report(
        total=len(cases),
        urgent=len(urgent),
        by_intent=_ranked(Counter(intent for case in cases for intent in dict.fromkeys(case.intents))),
        by_town=_ranked(Counter(case.town or UNKNOWN_TOWN for case in cases)),
        by_hour=tuple(hours),
        by_weekday=tuple(weekdays),
        by_channel=_ranked(Counter(case.channel for case in cases)),
        by_outcome=_ranked(Counter(case.outcome or UNFINISHED for case in cases)),
        claim_all=ClaimTimes.of(_claim_minutes(cases)),
        claim_urgent=ClaimTimes.of(_claim_minutes(urgent)),
        after_hours=sum(is_after_hours(case.opened_at) for case in cases),
        weekend=sum(is_weekend(case.opened_at) for case in cases),
    )


# --- CSV ------------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    """A text cell; one a spreadsheet would read as a formula gets a leading apostrophe (towns are typed in)."""
    value = value or ""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _time(at: dt.datetime | None) -> str:
    return local(at).isoformat(timespec="seconds") if at is not None else ""


def _flag(value: bool) -> str:
    return "1" if value else "0"


def csv_rows(cases: Iterable[Case]) -> Iterator[tuple[str, ...]]:
    """One anonymous row per case, in ``CSV_COLUMNS`` order: no message text, summary, reporter or people's ids."""
    for case in cases:
        minutes = minutes_to_claim(case)
        yield (
            str(case.id) if case.id is not None else "",
            _text(case.region),
            _text(case.channel),
            _text(case.town),
            _text(";".join(case.intents)),
            _flag(case.urgent),
            _time(case.opened_at),
            _time(case.escalated_at),
            _time(case.claimed_at),
            f"{minutes:.1f}" if minutes is not None else "",
            _time(case.resolved_at),
            _text(case.outcome),
            _flag(is_after_hours(case.opened_at)),
        )
