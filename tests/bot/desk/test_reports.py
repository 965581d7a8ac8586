"""The report numbers (``bot.desk.reports``) on hand-built cases: every expected figure is worked out in the comments.

No database: the functions are pure. Times are written in UTC, as stored, with the Asia/Tokyo time beside them
(Tokyo is UTC+9 all year): 2026-11-22 is a Sunday, 2026-11-23 (勤労感謝の日) a Monday and a public holiday.
Holidays come from jpholiday 1.0.3.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.desk import reports
from bot.desk.casework import OUTCOMES
from bot.desk.labels import CHANNEL_LABELS, INTENT_LABELS
from storage.models import Case, CaseStatus

VISITED, SHORT_STAY = OUTCOMES[1], OUTCOMES[0]


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in November 2026, UTC."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def case(
    case_id: int,
    opened: dt.datetime,
    *,
    channel: str = "web",
    town: str | None = None,
    intents: tuple[str, ...] = (),
    urgent: bool = False,
    claim_after: float | None = None,  # minutes after escalation; None: never claimed
    outcome: str | None = None,
) -> Case:
    escalated = opened + dt.timedelta(minutes=1)
    claimed = escalated + dt.timedelta(minutes=claim_after) if claim_after is not None else None
    return Case(
        id=case_id,
        person_id=900 + case_id,
        conversation_id=800 + case_id,
        region="nemuro",
        channel=channel,
        town=town,
        intents=list(intents),
        urgent=urgent,
        status=CaseStatus.RESOLVED if outcome else (CaseStatus.CLAIMED if claimed else CaseStatus.OPEN),
        reporter="家族",
        summary={"opening": "父が 倒れた 秘密の 文", "answers": [["町", "中標津町 1-2-3"]]},
        opened_at=opened,
        escalated_at=escalated,
        claimed_at=claimed,
        claimed_by=77 if claimed else None,
        resolved_at=claimed + dt.timedelta(hours=2) if outcome and claimed else None,
        outcome=outcome,
    )


# Five cases, one week (Tokyo times):
SUNDAY_LATE = case(1, utc(22, 14, 59), channel="line", town="中標津町", intents=("faq",), claim_after=4)  # Sun 23:59
MONDAY_MIDNIGHT = case(  # Mon 00:00: a new day in Tokyo, still Sunday in UTC
    2,
    utc(22, 15, 0),
    channel="line",
    town="中標津町",
    intents=("caregiver_emergency", "housing_search"),
    urgent=True,
    claim_after=2,
    outcome=SHORT_STAY,
)
TUESDAY_EVENING = case(3, utc(24, 8, 30), town=None, intents=("caregiver_emergency",), urgent=True, claim_after=10)
WEDNESDAY_NINE = case(  # Wed 09:00 sharp: office hours
    4, utc(25, 0, 0), town="根室市", intents=("housing_search", "housing_search"), claim_after=30, outcome=VISITED
)
SATURDAY_NOON = case(5, utc(28, 3, 0), channel="telegram", town=None)  # Sat 12:00, never claimed, no intent
WEEK = (SUNDAY_LATE, MONDAY_MIDNIGHT, TUESDAY_EVENING, WEDNESDAY_NINE, SATURDAY_NOON)


@pytest.fixture(scope="module")
def week() -> reports.Report:
    return reports.make_report(WEEK)


# --- percentiles (nearest rank: the value at rank ceil(p * n / 100)) --------------------------


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0, 1.0, 3.0], 50, 3.0),  # odd count: rank ceil(1.5) = 2 of [1, 3, 5]
        ([5.0, 1.0, 3.0], 90, 5.0),  # rank ceil(2.7) = 3
        ([2.0, 9.0, 4.0, 1.0, 8.0], 50, 4.0),  # rank ceil(2.5) = 3 of [1, 2, 4, 8, 9] (rounding would take 2)
        ([4.0, 2.0, 10.0, 30.0], 50, 4.0),  # even count: rank 2 of [2, 4, 10, 30], the lower middle, not 7
        ([4.0, 2.0, 10.0, 30.0], 90, 30.0),  # rank ceil(3.6) = 4
        ([float(v) for v in range(1, 11)], 90, 9.0),  # rank exactly 9: no rounding up past it
        ([float(v) for v in range(1, 21)], 90, 18.0),  # rank 18 of 20
        ([float(v) for v in range(1, 71)], 90, 63.0),  # 90 * 70 / 100 = 63 exactly (0.9 * 70 in floats is not)
        ([7.5], 50, 7.5),
        ([7.5], 90, 7.5),
        ([], 50, None),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], p: int, expected: float | None) -> None:
    assert reports.percentile(values, p) == expected


@pytest.mark.parametrize("p", [0, 101])
def test_percentile_outside_1_to_100_is_refused(p: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.100"):
        reports.percentile([1.0], p)


# --- office hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "after_hours", "weekend"),
    [
        (utc(24, 23, 59), True, False),  # Wed 08:59
        (utc(25, 0, 0), False, False),  # Wed 09:00: the office is open
        (utc(25, 7, 59), False, False),  # Wed 16:59
        (utc(25, 8, 0), True, False),  # Wed 17:00: closed
        (utc(22, 14, 59), True, True),  # Sun 23:59 (Sunday 14:59 in UTC, too)
        (utc(22, 15, 0), True, True),  # Mon 23 Nov 00:00 (still Sunday in UTC): 勤労感謝の日
        (utc(27, 15, 0), True, True),  # Sat 00:00 (Friday 15:00 in UTC: office hours there)
        (utc(28, 3, 0), True, True),  # Sat 12:00
        (utc(23, 1, 0), True, True),  # Mon 23 Nov 10:00, 勤労感謝の日: a day off, after hours all day
        (utc(22, 15, 0) - dt.timedelta(seconds=1), True, True),  # Sun 23:59:59
        (utc(23, 15, 0), True, False),  # Tue 24 Nov 00:00: a working day again, its night
        (utc(24, 0, 0), False, False),  # Tue 24 Nov 09:00: the office is open the day after the holiday
        (dt.datetime(2026, 5, 6, 1, tzinfo=dt.UTC), True, True),  # Wed 6 May 10:00, 振替休日 (for Sun 3 May)
        (dt.datetime(2026, 9, 22, 1, tzinfo=dt.UTC), True, True),  # Tue 22 Sep 10:00, 国民の休日 between two holidays
        (dt.datetime(2026, 9, 24, 1, tzinfo=dt.UTC), False, False),  # Thu 24 Sep 10:00: an ordinary Thursday
    ],
)
def test_after_hours_and_days_off_are_in_tokyo_time(at: dt.datetime, after_hours: bool, weekend: bool) -> None:
    assert reports.is_after_hours(at) is after_hours
    assert reports.is_weekend(at) is weekend


@pytest.mark.parametrize(
    ("at", "name"),
    [
        (utc(23, 1), "勤労感謝の日"),
        (utc(22, 15, 0), "勤労感謝の日"),  # Mon 00:00 in Tokyo, still Sunday the 22nd in UTC
        (utc(22, 14, 59), None),  # Sun 23:59 in Tokyo: the day before
        (dt.datetime(2026, 5, 6, 1, tzinfo=dt.UTC), "憲法記念日 振替休日"),  # jpholiday names the holiday it moves
        (dt.datetime(2027, 1, 1, 1, tzinfo=dt.UTC), "元日"),
    ],
)
def test_holiday_names_are_of_the_tokyo_date(at: dt.datetime, name: str | None) -> None:
    assert reports.holiday_name(at) == name


@pytest.mark.parametrize(
    ("at", "slot"),
    [
        (utc(24, 23, 59), reports.NIGHT),  # Wed 08:59
        (utc(25, 0, 0), reports.WORKDAY),  # Wed 09:00
        (utc(25, 7, 59), reports.WORKDAY),  # Wed 16:59
        (utc(25, 8, 0), reports.NIGHT),  # Wed 17:00
        (utc(28, 3, 0), reports.DAY_OFF),  # Sat 12:00
        (utc(28, 14, 0), reports.NIGHT),  # Sat 23:00: a night is a night, whatever the day
        (utc(23, 1, 0), reports.DAY_OFF),  # Mon 23 Nov 10:00, a holiday
        (utc(30, 1, 0), reports.WORKDAY),  # Mon 30 Nov 10:00, an ordinary Monday
    ],
)
def test_each_time_falls_in_one_slot(at: dt.datetime, slot: str) -> None:
    assert reports.slot(at) == slot


# --- the report -------------------------------------------------------------------------------


def test_totals(week: reports.Report) -> None:
    assert (week.total, week.urgent) == (5, 2)


def test_hours_are_tokyo_hours_of_opening(week: reports.Report) -> None:
    expected = [0] * 24
    for hour in (23, 0, 17, 9, 12):  # Sun 23:59, Mon 00:00, Tue 17:30, Wed 09:00, Sat 12:00
        expected[hour] = 1
    assert week.by_hour == tuple(expected)


def test_weekdays_start_on_monday(week: reports.Report) -> None:
    assert week.by_weekday == (1, 1, 1, 0, 0, 1, 1)  # Mon, Tue, Wed, -, -, Sat, Sun


def test_a_case_counts_once_for_each_of_its_intents(week: reports.Report) -> None:
    # caregiver_emergency: cases 2, 3; housing_search: 2, 4 (twice in case 4, counted once); faq: 1; case 5: none
    assert week.by_intent == (("caregiver_emergency", 2), ("housing_search", 2), ("faq", 1))


def test_towns_without_a_town_are_unconfirmed(week: reports.Report) -> None:
    assert week.by_town == (("中標津町", 2), (reports.UNKNOWN_TOWN, 2), ("根室市", 1))


def test_channels_and_outcomes(week: reports.Report) -> None:
    assert week.by_channel == (("line", 2), ("web", 2), ("telegram", 1))
    assert dict(week.by_outcome) == {reports.UNFINISHED: 3, SHORT_STAY: 1, VISITED: 1}
    assert week.by_outcome[0] == (reports.UNFINISHED, 3)


def test_time_to_claim_leaves_out_cases_never_claimed(week: reports.Report) -> None:
    # claimed after 4, 2, 10 and 30 minutes; case 5 never: [2, 4, 10, 30] -> median rank 2, p90 rank 4
    assert week.claim_all == reports.ClaimTimes(cases=4, median=4.0, p90=30.0)
    # urgent: cases 2 and 3, [2, 10] -> median rank 1, p90 rank 2
    assert week.claim_urgent == reports.ClaimTimes(cases=2, median=2.0, p90=10.0)


def test_after_hours_and_day_off_shares_count_the_holiday(week: reports.Report) -> None:
    # after hours: Sun 23:59, Mon 00:00, Tue 17:30, Sat 12:00 (not Wed 09:00)
    # days off: Sun, Mon 23 Nov (勤労感謝の日), Sat
    assert (week.after_hours, week.weekend) == (4, 3)
    assert week.after_hours_share == pytest.approx(0.8)
    assert week.weekend_share == pytest.approx(0.6)


def test_time_to_claim_is_split_by_night_day_off_and_working_day(week: reports.Report) -> None:
    # waits began (escalation, a minute after opening): Mon 00:00 (4 min), Mon 00:01 (2), Tue 17:31 (10): night;
    # Wed 09:01 (30): a working day; Sat 12:01: a day off, never claimed
    assert week.claim_by_slot == (
        (reports.NIGHT, reports.ClaimTimes(cases=3, median=4.0, p90=10.0)),
        (reports.DAY_OFF, reports.ClaimTimes(cases=0, median=None, p90=None)),
        (reports.WORKDAY, reports.ClaimTimes(cases=1, median=30.0, p90=30.0)),
    )
    holiday = reports.make_report(
        [
            case(11, utc(23, 1, 0), claim_after=7),  # Mon 23 Nov 10:01, 勤労感謝の日: a day off
            case(12, utc(30, 1, 0), claim_after=3),  # Mon 30 Nov 10:01: a working day
            case(13, utc(28, 2, 0), claim_after=12),  # Sat 11:01
            case(14, utc(30, 9, 0), claim_after=40),  # Mon 18:01: the night
        ]
    )
    assert dict(holiday.claim_by_slot) == {
        reports.NIGHT: reports.ClaimTimes(cases=1, median=40.0, p90=40.0),
        reports.DAY_OFF: reports.ClaimTimes(cases=2, median=7.0, p90=12.0),
        reports.WORKDAY: reports.ClaimTimes(cases=1, median=3.0, p90=3.0),
    }
    assert sum(times.cases for _, times in holiday.claim_by_slot) == holiday.claim_all.cases


def test_no_cases_gives_zeros_and_no_times() -> None:
    empty = reports.make_report([])
    assert (empty.total, empty.urgent, empty.by_intent, empty.by_town) == (0, 0, (), ())
    assert empty.by_hour == (0,) * 24 and empty.by_weekday == (0,) * 7
    assert empty.claim_all == empty.claim_urgent == reports.ClaimTimes(cases=0, median=None, p90=None)
    assert (empty.after_hours_share, empty.weekend_share) == (None, None)


@pytest.mark.parametrize(
    ("escalated", "claimed", "minutes"),
    [
        (utc(22, 15, 0), utc(22, 15, 12), 12.0),
        (utc(22, 15, 0), utc(22, 15, 0) + dt.timedelta(seconds=90), 1.5),
        (utc(22, 15, 0), None, None),  # waiting
        (None, utc(22, 15, 0), None),  # no queue time: not counted
        (utc(22, 15, 5), utc(22, 15, 0), 0.0),  # clocks of two instances: never negative
    ],
)
def test_minutes_to_claim(escalated: dt.datetime | None, claimed: dt.datetime | None, minutes: float | None) -> None:
    subject = case(9, utc(22, 14, 0))
    subject.escalated_at, subject.claimed_at = escalated, claimed
    assert reports.minutes_to_claim(subject) == minutes


# --- CSV --------------------------------------------------------------------------------------


def test_csv_header_is_japanese() -> None:
    assert reports.CSV_COLUMNS[:6] == ("ケース番号", "地域", "窓口", "町", "相談の内容", "緊急")
    assert all(not column.isascii() for column in reports.CSV_COLUMNS)


def test_csv_row_of_a_claimed_urgent_case_in_japanese_and_tokyo_time() -> None:
    (row,) = reports.csv_rows([MONDAY_MIDNIGHT], {"nemuro": "根室圏域"})
    assert dict(zip(reports.CSV_COLUMNS, row, strict=True)) == {
        "ケース番号": "2",
        "地域": "根室圏域",
        "窓口": "LINE",
        "町": "中標津町",
        "相談の内容": "介護者の 急病、住まい",  # the labels the pages show
        "緊急": "はい",
        "始まった日時": "2026/11/23 00:00",
        "受付に回った日時": "2026/11/23 00:01",
        "受けた日時": "2026/11/23 00:03",
        "受けるまで（分）": "2.0",
        "終わった日時": "2026/11/23 02:03",
        "結果": SHORT_STAY,
        "時間外": "はい",
        "土日・祝日": "はい",
        "祝日名": "勤労感謝の日",
        "受付の時間帯": reports.NIGHT,
    }


def test_csv_row_of_a_case_never_claimed_says_so() -> None:
    (row,) = reports.csv_rows([SATURDAY_NOON])
    values = dict(zip(reports.CSV_COLUMNS, row, strict=True))
    assert (values["地域"], values["窓口"], values["町"], values["相談の内容"], values["緊急"]) == (
        "nemuro",  # no name given for the region: its code
        "Telegram",
        reports.UNKNOWN_TOWN,
        "",
        "いいえ",
    )
    assert (values["受けた日時"], values["受けるまで（分）"], values["終わった日時"]) == ("",) * 3
    assert values["結果"] == reports.UNFINISHED
    assert (values["始まった日時"], values["土日・祝日"], values["祝日名"]) == ("2026/11/28 12:00", "はい", "")
    assert values["受付の時間帯"] == reports.DAY_OFF


def test_csv_names_every_intent_and_channel_in_japanese() -> None:
    intents = tuple(INTENT_LABELS)
    rows = [case(20 + n, utc(25, 1), channel=channel, intents=intents) for n, channel in enumerate(CHANNEL_LABELS)]
    for row in reports.csv_rows(rows):
        values = dict(zip(reports.CSV_COLUMNS, row, strict=True))
        assert values["窓口"] in CHANNEL_LABELS.values()
        assert values["相談の内容"].split("、") == list(INTENT_LABELS.values())


def test_csv_rows_hold_no_text_reporter_or_people() -> None:
    rows = list(reports.csv_rows(WEEK))
    assert len(rows) == len(WEEK) and all(len(row) == len(reports.CSV_COLUMNS) for row in rows)
    cells = [cell for row in rows for cell in row]
    assert not any("秘密" in cell or "1-2-3" in cell or "家族" in cell for cell in cells)
    ids = {cell for cell in cells if cell.isdigit()}
    assert ids.isdisjoint({"77", *(str(900 + n) for n in range(1, 6)), *(str(800 + n) for n in range(1, 6))})


@pytest.mark.parametrize(
    ("town", "cell"),
    [('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'), ("+81", "'+81"), ("@a", "'@a"), ("別海町", "別海町")],
)
def test_csv_text_that_a_spreadsheet_would_run_is_defused(town: str, cell: str) -> None:
    (row,) = reports.csv_rows([case(6, utc(25, 1), town=town)])
    assert row[reports.CSV_COLUMNS.index("町")] == cell
