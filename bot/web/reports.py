"""The reports page (実績, ``/coordinator/reports``) and its CSV export (``/coordinator/reports.csv``).

Routes only pick the cases: those of the regions the logged-in coordinator
serves, opened in a period of Asia/Tokyo dates (``from`` and ``to``, inclusive,
YYYY-MM-DD; by default the last 30 days). ``bot.desk.reports`` does the counting and
makes the anonymous CSV rows; this module turns them into rows a phone can show
(label, count, percentage, a CSS bar). A bad period is a 422: the page shows it
as a flash above the form, the CSV answers it in plain text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlmodel import Session

from bot.desk import reports
from bot.desk.labels import CHANNEL_LABELS, INTENT_LABELS, WORDS, duration
from bot.desk.paging import TOKYO
from bot.web.deps import LoginDep, ServicesDep, SessionDep
from bot.web.render import render
from bot.web.services import Services
from storage import cases
from storage.models import Case
from storage.types import utcnow

router = APIRouter(prefix="/coordinator")

DEFAULT_DAYS = 30
WEEKDAYS = WORDS.reports.weekdays
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

FromQuery = Annotated[str | None, Query(alias="from")]
ToQuery = Annotated[str | None, Query(alias="to")]


class BadPeriod(ValueError):
    """The period asked for cannot be used; the message is shown as is (Japanese)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Tokyo dates ``first`` to ``last``, both included; ``start``/``end`` are the UTC bounds (end excluded)."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, first: dt.date, last: dt.date) -> Period:
        if first > last:
            raise BadPeriod(WORDS.reports.period_reversed)
        try:
            start = dt.datetime.combine(first, dt.time(), TOKYO).astimezone(dt.UTC)
            end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO).astimezone(dt.UTC)
        except OverflowError as error:
            raise BadPeriod(WORDS.reports.period_out_of_range) from error
        return cls(first, last, start, end)

    def query(self) -> str:
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise BadPeriod(WORDS.reports.period_bad_date) from error


def default_period(today: dt.date) -> Period:
    return Period.of(today - dt.timedelta(days=DEFAULT_DAYS - 1), today)


def parse_period(first: str | None, last: str | None, today: dt.date) -> Period:
    """The period from the query; a missing end is today, a missing start is 30 days before the end."""
    end = _date(last) or today
    start = _date(first) or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    return Period.of(start, end)


def _today() -> dt.date:
    return utcnow().astimezone(TOKYO).date()


def _cases(session: Session, regions: Sequence[str], period: Period) -> Sequence[Case]:
    return cases.opened_between(session=session, regions=regions, start=period.start, end=period.end)


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    count: int
    percent: int  # of all cases in the period, rounded
    width: float  # the bar, in % of the cell: the largest count of the table fills it


def _rows(counts: Iterable[tuple[str, int]], total: int, labels: dict[str, str] | None = None) -> list[Row]:
    """Rows for a table; ``labels`` names the codes (intents, channels) in Japanese."""
    pairs = [((labels or {}).get(key, key), count) for key, count in counts]
    most = max((count for _, count in pairs), default=0)
    return [
        Row(label, count, round(100 * count / total) if total else 0, round(100 * count / most, 1) if most else 0.0)
        for label, count in pairs
    ]


def _minutes(value: float | None) -> str:
    return "—" if value is None else duration(value)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


def _report_context(report: reports.Report) -> dict[str, Any]:
    total = report.total
    return {
        "report": report,
        "intents": _rows(report.by_intent, total, INTENT_LABELS),
        "towns": _rows(report.by_town, total),
        "channels": _rows(report.by_channel, total, CHANNEL_LABELS),
        "outcomes": _rows(report.by_outcome, total),
        "hours": _rows(((WORDS.reports.hour.format(hour=hour), n) for hour, n in enumerate(report.by_hour)), total),
        "weekdays": _rows(zip(WEEKDAYS, report.by_weekday, strict=True), total),
        "claims": (
            (WORDS.reports.all_cases, report.claim_all),
            (WORDS.reports.urgent_cases, report.claim_urgent),
            *report.claim_by_slot,
        ),
        "minutes": _minutes,
        "percent": _percent,
    }


def _region_labels(svc: Services) -> dict[str, str]:
    """Each region's name in the knowledge base, by code."""
    return {code: region.name for code, region in svc.desk.ctx.kb.regions.items()}


def _region_names(svc: Services, regions: Sequence[str]) -> str:
    labels = _region_labels(svc)
    return "・".join(labels.get(region, region) for region in regions)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    svc: ServicesDep,
    session: SessionDep,
    login: LoginDep,
    first: FromQuery = None,
    last: ToQuery = None,
) -> Response:
    context: dict[str, Any] = {"login": login, "regions": _region_names(svc, login.coordinator.regions)}
    try:
        period = parse_period(first, last, _today())
    except BadPeriod as error:
        context |= {"period": default_period(_today()), "report": None, "flash": str(error), "flash_bad": True}
        return render(svc, request, "reports.html", context, status=422)
    report = reports.make_report(_cases(session, login.coordinator.regions, period))
    context |= {"period": period} | _report_context(report)
    return render(svc, request, "reports.html", context)


# --- the CSV --------------------------------------------------------------------------------


def _csv(rows: Iterable[Sequence[str]]) -> str:
    """CSV text with a byte order mark, so Excel in Japan reads it as UTF-8 (not Shift_JIS)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(reports.CSV_COLUMNS)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


@router.get("/reports.csv")
def reports_csv(
    svc: ServicesDep, session: SessionDep, login: LoginDep, first: FromQuery = None, last: ToQuery = None
) -> Response:
    try:
        period = parse_period(first, last, _today())
    except BadPeriod as error:
        return PlainTextResponse(str(error), status_code=422)
    rows = reports.csv_rows(_cases(session, login.coordinator.regions, period), _region_labels(svc))
    name = f"madoguchi-report-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"},
    )
