"""The reports page and CSV (``bot.web.reports``) through the real app, on SQLite and PostgreSQL.

Cases go straight into the database; coordinators log in through the login form. October 2026 in Tokyo time:
the 5th is a Monday, the 10th and the 31st are Saturdays.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.desk.paging import TOKYO
from bot.desk.reports import CSV_COLUMNS
from storage.db import session_scope
from storage.models import Case, Conversation, Direction, Message, Person, row_id
from storage.types import utcnow
from tests.bot.web.conftest import log_in
from tests.builders import coordinator

SECRET = "父が 倒れて 動けない 秘密の 相談文"
OCTOBER = "from=2026-10-01&to=2026-10-31"


def jst(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Tokyo wall-clock time in 2026, as the aware UTC time the database keeps."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(dt.UTC)


def add_case(
    engine: Engine,
    opened: dt.datetime,
    *,
    region: str = "nemuro",
    channel: str = "web",
    town: str | None = None,
    intents: tuple[str, ...] = (),
    urgent: bool = False,
    claim_after: float | None = None,
    outcome: str | None = None,
) -> int:
    """A case that entered the queue a minute after it opened (and was claimed ``claim_after`` minutes later)."""
    escalated = opened + dt.timedelta(minutes=1)
    with session_scope(engine) as session:
        case = Case(
            region=region,
            channel=channel,
            town=town,
            intents=list(intents),
            urgent=urgent,
            opened_at=opened,
            escalated_at=escalated,
            claimed_at=escalated + dt.timedelta(minutes=claim_after) if claim_after is not None else None,
            outcome=outcome,
        )
        session.add(case)
        session.flush()
        return row_id(case)


def add_words(engine: Engine, case_id: int) -> int:
    """Give the case a person, a message, a summary and a reporter, all holding ``SECRET`` or 「家族」."""
    with session_scope(engine) as session:
        case = session.get_one(Case, case_id)
        person = Person(region=case.region)
        session.add(person)
        session.flush()
        conversation = Conversation(person_id=row_id(person), channel=case.channel, address="web-token-1")
        session.add(conversation)
        session.flush()
        case.person_id, case.conversation_id = person.id, conversation.id
        case.summary, case.reporter = {"opening": SECRET}, "家族"
        session.add(case)
        session.add(Message(conversation_id=row_id(conversation), case_id=case_id, direction=Direction.IN, text=SECRET))
    return case_id


@pytest.fixture
def october(engine: Engine) -> dict[str, int]:
    """Four nemuro cases in October (Tokyo), two just outside it, one in shiroi; returns their ids by name."""
    return {
        # Mon 10:00, urgent, claimed after 6 min, with message text
        "monday": add_words(
            engine,
            add_case(
                engine,
                jst(10, 5, 10),
                channel="web",
                town="中標津町",
                intents=("caregiver_emergency",),
                urgent=True,
                claim_after=6,
            ),
        ),
        # Sat 12:00, never claimed, two intents
        "saturday": add_case(engine, jst(10, 10, 12), channel="line", intents=("housing_search", "faq")),
        # Wed 19:00, claimed after 20 min, resolved
        "wednesday": add_case(
            engine,
            jst(10, 7, 19),
            channel="web",
            town="根室市",
            intents=("faq",),
            claim_after=20,
            outcome="訪問・電話で対応した",
        ),
        # Sat 31st 23:30 Tokyo (14:30 UTC): the last evening of the period, urgent, claimed after 2 min
        "last": add_case(engine, jst(10, 31, 23, 30), channel="line", urgent=True, intents=("crisis",), claim_after=2),
        # Sun 1 Nov 00:10 Tokyo, still 31 October in UTC: outside the period
        "november": add_case(engine, jst(11, 1, 0, 10), channel="web", town="別海町"),
        # Wed 30 Sep 23:59 Tokyo: outside
        "september": add_case(engine, jst(9, 30, 23, 59), channel="web", town="別海町"),
        "shiroi": add_case(engine, jst(10, 15, 11), region="shiroi", channel="web", town="白井市", intents=("faq",)),
    }


@pytest.fixture(autouse=True)
def accounts(engine: Engine) -> None:
    """aiko serves nemuro, kenta serves shiroi (the app and ``engine`` share the test database)."""
    coordinator(engine, "aiko", ("nemuro",))
    coordinator(engine, "kenta", ("shiroi",))


def stat(html: str, name: str) -> int:
    found = re.search(rf'data-stat="{name}">(\d+)<', html)
    assert found is not None, f"no {name} on the page"
    return int(found.group(1))


def claim_row(html: str, label: str) -> list[str]:
    """The number cells of a row of the time-to-claim table."""
    found = re.search(rf'<tr data-claim="{label}">(.*?)</tr>', html, re.S)
    assert found is not None
    return re.findall(r'<td class="num">([^<]*)</td>', found.group(1))


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "no byte order mark: Excel would read Shift_JIS"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- the page ---------------------------------------------------------------------------------


def test_page_counts_the_period_in_tokyo_dates(client: TestClient, october: dict[str, int]) -> None:
    log_in(client, "aiko")
    page = client.get(f"/coordinator/reports?{OCTOBER}")
    assert page.status_code == 200
    html = page.text
    # monday, saturday, wednesday, last; not november (31 Oct in UTC) nor september nor shiroi
    assert stat(html, "total") == 4
    assert stat(html, "urgent") == 2  # monday, last
    assert stat(html, "after-hours") == 3  # saturday, wednesday 19:00, last (Sat 23:30); monday 10:00 is office time
    assert stat(html, "weekend") == 2  # saturday, last
    # claimed after 6, 20 and 2 minutes: [2, 6, 20] -> half within 6, 90% within 20; urgent [2, 6] -> 2 and 6
    assert claim_row(html, "全体") == ["3件", "6分", "20分"]
    assert claim_row(html, "緊急") == ["2件", "2分", "6分"]
    assert "中標津町" in html and "根室市" in html and "別海町" not in html
    assert "介護者の 急病" in html  # intents in Japanese
    assert 'href="/coordinator/reports.csv?from=2026-10-01&amp;to=2026-10-31"' in html
    assert SECRET not in html


def test_another_region_sees_none_of_these_cases(client: TestClient, october: dict[str, int]) -> None:
    log_in(client, "kenta")
    page = client.get(f"/coordinator/reports?{OCTOBER}").text
    rows = read_csv(client.get(f"/coordinator/reports.csv?{OCTOBER}").content)
    assert stat(page, "total") == 1
    assert "白井市" in page and "中標津町" not in page and "根室市" not in page
    assert [int(row[0]) for row in rows[1:]] == [october["shiroi"]]


def test_default_period_is_the_last_30_days_in_tokyo(client: TestClient, engine: Engine) -> None:
    now = utcnow()
    add_case(engine, now - dt.timedelta(days=1), channel="web")
    add_case(engine, now - dt.timedelta(days=40), channel="web")
    today = now.astimezone(TOKYO).date()
    log_in(client, "aiko")
    html = client.get("/coordinator/reports").text
    assert stat(html, "total") == 1
    assert f'name="from" value="{today - dt.timedelta(days=29)}"' in html
    assert f'name="to" value="{today}"' in html


def test_a_period_without_cases_says_so(client: TestClient, october: dict[str, int]) -> None:
    log_in(client, "aiko")
    html = client.get("/coordinator/reports?from=2025-01-01&to=2025-01-31").text
    assert stat(html, "total") == 0
    assert "この 期間の ケースは ありません。" in html


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",  # no such month
        "from=2026/10/01",  # not YYYY-MM-DD
        "to=yesterday",
        "from=2026-10-31&to=2026-10-01",  # backwards
        "from=0001-01-01&to=0001-01-01",  # midnight in Tokyo is before the first day UTC can hold
        "from=9999-12-01&to=9999-12-31",  # the day after the last cannot be counted
    ],
)
def test_a_bad_date_is_a_422_with_a_message(client: TestClient, query: str) -> None:
    log_in(client, "aiko")
    page = client.get(f"/coordinator/reports?{query}")
    download = client.get(f"/coordinator/reports.csv?{query}")
    assert page.status_code == 422
    assert 'class="flash bad"' in page.text and 'name="from"' in page.text  # the message above the form
    assert download.status_code == 422 and "日" in download.text


# --- the CSV ----------------------------------------------------------------------------------


def test_csv_has_bom_header_and_one_row_per_case(client: TestClient, october: dict[str, int]) -> None:
    log_in(client, "aiko")
    answer = client.get(f"/coordinator/reports.csv?{OCTOBER}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == "attachment; filename=madoguchi-report-2026-10-01-2026-10-31.csv"
    rows = read_csv(answer.content)
    assert rows[0] == list(CSV_COLUMNS) and rows[0][:3] == ["ケース番号", "地域", "窓口"]  # Japanese headers
    body = rows[1:]
    expected = [october[name] for name in ("monday", "wednesday", "saturday", "last")]  # by opening time
    assert [int(row[0]) for row in body] == expected
    last = dict(zip(CSV_COLUMNS, body[-1], strict=True))
    assert last["始まった日時"] == "2026/10/31 23:30" and last["受けるまで（分）"] == "2.0"
    assert (last["時間外"], last["緊急"], last["相談の内容"]) == ("はい", "はい", "いのちの 危険")
    assert (last["地域"], last["窓口"], last["結果"]) == ("根室圏域", "LINE", "未完了")  # names, not codes
    first = dict(zip(CSV_COLUMNS, body[0], strict=True))
    assert (first["窓口"], first["相談の内容"]) == ("ウェブチャット", "介護者の 急病")
    assert first["受付の時間帯"] == "平日の 日中"
    text = answer.content.decode("utf-8-sig")
    assert not any(code in text for code in ("nemuro", "caregiver_emergency", "crisis", ",web,", ",line,"))


def test_a_public_holiday_counts_as_a_day_off(client: TestClient, october: dict[str, int], engine: Engine) -> None:
    # Mon 12 Oct 10:00, スポーツの日: a day off, so after hours and on the weekend side; claimed after 8 minutes
    holiday = add_case(engine, jst(10, 12, 10), channel="web", town="根室市", claim_after=8)
    log_in(client, "aiko")
    html = client.get(f"/coordinator/reports?{OCTOBER}").text
    assert stat(html, "total") == 5
    assert stat(html, "after-hours") == 4  # saturday, wednesday 19:00, last, and the holiday
    assert stat(html, "weekend") == 3  # saturday, last, the holiday
    # time to claim by when the wait began: monday 10:01 (6 min) on a working day; wednesday 19:01 (20) and
    # last 23:31 (2) at night; the holiday 10:01 (8) on a day off
    assert claim_row(html, "平日の 日中") == ["1件", "6分", "6分"]
    assert claim_row(html, "夜間（17時〜9時）") == ["2件", "2分", "20分"]
    assert claim_row(html, "土日・祝日の 日中") == ["1件", "8分", "8分"]
    rows = read_csv(client.get(f"/coordinator/reports.csv?{OCTOBER}").content)
    (row,) = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:] if int(row[0]) == holiday]
    assert (row["土日・祝日"], row["祝日名"], row["時間外"]) == ("はい", "スポーツの日", "はい")


def test_csv_holds_no_message_text_or_reporter(client: TestClient, october: dict[str, int]) -> None:
    log_in(client, "aiko")
    text = client.get(f"/coordinator/reports.csv?{OCTOBER}").content.decode("utf-8-sig")
    case_page = client.get(f"/coordinator/cases/{october['monday']}").text
    assert SECRET in case_page  # the text really is stored: the case page shows it
    assert SECRET not in text and "家族" not in text


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/coordinator/reports", f"/coordinator/reports.csv?{OCTOBER}"])
def test_without_login_goes_to_the_login_page(client: TestClient, october: dict[str, int], path: str) -> None:
    answer = client.get(path)
    assert (answer.status_code, answer.headers["location"]) == (303, "/coordinator/login")
    assert "中標津町" not in answer.text
