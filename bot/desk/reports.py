"""Reports (実績): the numbers a hub shows for its work, counted from its cases.

Hubs are asked to show what they did: how many cases, about what, from which
towns, at what hours, and how soon someone picked them up. This module owns
those numbers and the anonymous per-case CSV rows. It is pure: it takes cases
already loaded (``bot.web.reports`` picks the period and the regions) and does
no I/O, so every figure can be checked by hand.

Time of day and weekday are those of ``opened_at`` in Asia/Tokyo. A day off is
a Saturday, a Sunday or a public holiday of Japan (国民の祝日, 振替休日 and
国民の休日, from the maintained ``jpholiday`` calendar, so a new or moved holiday
comes with a package update, not a code change). Office hours are 9:00-17:00 on
other days (9:00 is inside, 17:00 is outside); everything else, days off
included, is after hours. ``Report.weekend`` counts cases opened on a day off.

Time to claim is ``claimed_at - escalated_at`` (from entering the queue to a
coordinator taking the case), for cases that have both; a negative difference
(clocks of two instances) counts as zero. It is also split by when the wait
began (``escalated_at``): the night (17:00-9:00, any day: the on-call
coordinator may be asleep), the daytime of a day off, and the daytime of a
working day (office hours). The three parts cover every case once, so their
counts add up to the whole. Percentiles use the nearest-rank
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import jpholiday

from bot.desk.labels import CHANNEL_LABELS, INTENT_LABELS, WORDS
from bot.desk.paging import TOKYO
from storage.models import Case

UNKNOWN_TOWN = WORDS.reports.unknown_town
UNFINISHED = WORDS.reports.unfinished  # the outcome of a case not resolved yet
OFFICE_OPENS, OFFICE_CLOSES = 9, 17  # hours, Asia/Tokyo, on working days
SATURDAY = 5
#: When a wait began, for time to claim: the three parts of every week, in the order the page shows them.
NIGHT, DAY_OFF, WORKDAY = WORDS.reports.slots.night, WORDS.reports.slots.day_off, WORDS.reports.slots.workday
SLOTS = (NIGHT, DAY_OFF, WORKDAY)
#: The CSV's header, in Japanese for a council's spreadsheet; times are Asia/Tokyo.
CSV_COLUMNS = WORDS.reports.csv_columns
YES, NO = WORDS.reports.yes, WORDS.reports.no
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
    claim_by_slot: tuple[tuple[str, ClaimTimes], ...]  # (slot, times) for each of ``SLOTS``, in that order
    after_hours: int  # cases opened outside 9:00-17:00 of a working day
    weekend: int  # cases opened on a day off: a Saturday, a Sunday or a public holiday

    @property
    def after_hours_share(self) -> float | None:
        return self.after_hours / self.total if self.total else None

    @property
    def weekend_share(self) -> float | None:
        return self.weekend / self.total if self.total else None


def local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(TOKYO)


def holiday_name(at: dt.datetime) -> str | None:
    """The public holiday of Japan on that Tokyo date (「勤労感謝の日」, 「振替休日」), or None."""
    name: str | None = jpholiday.is_holiday_name(local(at).date())
    return name


def is_weekend(at: dt.datetime) -> bool:
    """A day off in Tokyo: Saturday, Sunday or a public holiday."""
    return local(at).weekday() >= SATURDAY or holiday_name(at) is not None


def is_after_hours(at: dt.datetime) -> bool:
    """Outside 9:00-17:00 of a working day in Asia/Tokyo (days off are after hours all day)."""
    return is_weekend(at) or not OFFICE_OPENS <= local(at).hour < OFFICE_CLOSES


def slot(at: dt.datetime) -> str:
    """``NIGHT`` (17:00-9:00 any day), else ``DAY_OFF`` or ``WORKDAY`` daytime, in Asia/Tokyo."""
    if not OFFICE_OPENS <= local(at).hour < OFFICE_CLOSES:
        return NIGHT
    return DAY_OFF if is_weekend(at) else WORKDAY


def minutes_to_claim(case: Case) -> float | None:
    """Minutes from entering the queue to being claimed; None unless the case has both times."""
    if case.escalated_at is None or case.claimed_at is None:
        return None
    return max(0.0, (case.claimed_at - case.escalated_at).total_seconds() / 60)


def _ranked(counter: Counter[str]) -> Counts:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _claim_minutes(cases: Iterable[Case]) -> list[float]:
    return [minutes for case in cases if (minutes := minutes_to_claim(case)) is not None]


def _began_in(cases: Iterable[Case], name: str) -> list[Case]:
    """Cases whose wait for a coordinator began in slot ``name``."""
    return [case for case in cases if case.escalated_at is not None and slot(case.escalated_at) == name]


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
        claim_by_slot=tuple((name, ClaimTimes.of(_claim_minutes(_began_in(cases, name)))) for name in SLOTS),
        after_hours=sum(is_after_hours(case.opened_at) for case in cases),
        weekend=sum(is_weekend(case.opened_at) for case in cases),
    )


# --- CSV ------------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    """A text cell; one a spreadsheet would read as a formula gets a leading apostrophe (towns are typed in)."""
    value = value or ""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _time(at: dt.datetime | None) -> str:
    """Tokyo time as Excel reads a date and time (``2026/11/23 00:03``)."""
    return local(at).strftime("%Y/%m/%d %H:%M") if at is not None else ""


def _flag(value: bool) -> str:
    return YES if value else NO


def csv_rows(cases: Iterable[Case], regions: Mapping[str, str] | None = None) -> Iterator[tuple[str, ...]]:
    """One anonymous row per case, in ``CSV_COLUMNS`` order: no message text, summary, reporter or people's ids.

    Codes are written in the words the pages show: ``regions`` names the regions (the knowledge base's
    names; a code without a name is written as is), ``bot.desk.labels`` the channels and intents.
    """
    names = regions or {}
    for case in cases:
        minutes = minutes_to_claim(case)
        intents = "、".join(INTENT_LABELS.get(intent, intent) for intent in dict.fromkeys(case.intents))
        yield (
            str(case.id) if case.id is not None else "",
            _text(names.get(case.region, case.region)),
            _text(CHANNEL_LABELS.get(case.channel, case.channel)),
            _text(case.town or UNKNOWN_TOWN),
            _text(intents),
            _flag(case.urgent),
            _time(case.opened_at),
            _time(case.escalated_at),
            _time(case.claimed_at),
            f"{minutes:.1f}" if minutes is not None else "",
            _time(case.resolved_at),
            _text(case.outcome or UNFINISHED),
            _flag(is_after_hours(case.opened_at)),
            _flag(is_weekend(case.opened_at)),
            holiday_name(case.opened_at) or "",
            slot(case.escalated_at) if case.escalated_at is not None else "",
        )
