"""Resolve the time phrase of a question ("last week", "yesterday", "in March") to a UTC range.

`resolve_time_range(query, now, tz="UTC")` returns a half-open `[start, end)` range in UTC plus the
phrase it matched, or None when the query names no time. Days are the user's days: the calendar
arithmetic happens in the time zone `tz` (an IANA name, default UTC) and only the resulting local
midnights are converted to UTC, so "yesterday" asked at 2025-11-12 01:00 UTC from
America/Los_Angeles is the 10th there (2025-11-10 08:00Z to 2025-11-11 08:00Z), not the 11th.

Rules (`today` is the local date of `now` in `tz`; weeks start on Monday unless `week_start` says
otherwise, 0 = Monday ... 6 = Sunday; every range covers whole local days):

| phrase | range |
|---|---|
| today, tonight, this morning/afternoon/evening | today |
| yesterday, last night / the day before yesterday / tomorrow | that day |
| N days ago | that day ("a few" / "a couple of" days ago: from the day before to the day after 3 / 2 days ago) |
| this week / last (previous) week / next week | the calendar week (Monday to Sunday) |
| N weeks ago ("a week ago", "two weeks ago"), the week before last | the calendar week containing today - N weeks (2) |
| this / last / next month, N months ago, the month before last | that calendar month |
| this / last / next year, N years ago, the year before last | that calendar year |
| this / last / next century | years 2000-2099, 1900-1999, 2100-2199 (for today in 2000-2099) |
| past week, in/over the last week, the last (past) N days/weeks/months/years | rolling: from the local day N units before today through today |
| recently, lately, these days | rolling 7 days through today |
| this / last / next weekend, the weekend | Saturday-Sunday of this week / of the previous week / of the next week; "the weekend" is the latest one that has started |
| Monday, on Monday, last Monday | the latest Monday strictly before today |
| this Monday / next Monday | the Monday of this week / the first Monday after today |
| in March, during March, since March, last/this/next March, March 2024 | that month: with no year, the latest March that has started (this month counts) |
| March 3, 3rd of March, March 3rd 2024, 3/4/2025 (M/D/Y), 2025-03-04 | that day; with no year, the latest such date not after today (Feb 29 -> the latest leap year) |
| on the 3rd | the latest 3rd of a month not after today |
| in 2024 (also during/since/from/of/until 2024) | that year |
| since X | from the start of X through today (or the end of X, whichever is later) |
| between X and Y, from X to/until/through Y | from the start of the earlier to the end of the later |

Month names need context to count ("in May", "May 3", "May 2024", "last May"), so "I may go" or a
friend called April are not dates; weekday names must be spelt out ("Sat" is not a day).
When several phrases occur, the first one in the query wins (ties: the longest).
Dates with a month name or slashes are parsed with dateparser (past preference, M/D/Y); the
calendar phrases above are plain rules. Ranges outside the years 1-9999 give None.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

UTC = timezone.utc
MONDAY = 0
ROLLING_RECENT_DAYS = 7


class TimeRange(BaseModel):
    """A half-open UTC range [start, end) resolved from a phrase, with the local days it covers."""

    model_config = ConfigDict(frozen=True)

    start: datetime = Field(description="inclusive, UTC")
    end: datetime = Field(description="exclusive, UTC")
    phrase: str = Field(description="the text of the query that was resolved")
    tz: str = Field(description="time zone the calendar arithmetic used")
    first_day: date = Field(description="first local day covered (in tz)")
    last_day: date = Field(description="last local day covered (in tz, inclusive)")

    @property
    def label(self) -> str:
        """'2025-11-10' or '2025-11-03 to 2025-11-09' (local days), plus the zone when not UTC."""
        days = (
            self.first_day.isoformat() if self.first_day == self.last_day
            else f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"
        )
        return days if self.tz == "UTC" else f"{days}, {self.tz}"


def get_zone(tz: str) -> ZoneInfo:
    """The IANA zone, or ValueError with a clear message."""
    if not isinstance(tz, str) or not tz.strip():
        raise ValueError("time zone must be an IANA name such as 'UTC' or 'Europe/Berlin'")
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = tz[:60] + ("..." if len(tz) > 60 else "")
        raise ValueError(f"unknown time zone {shown!r}: use an IANA name such as 'UTC' or 'America/Los_Angeles'") from None


# -- helpers -----------------------------------------------------------------------------------------

DayRange = tuple[date, date]  # local [first, end)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
_ABBREVIATIONS = {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple": 2, "few": 3,
}
_NUM = r"(?P<n>\d{1,4}|a\s+couple\s+of|a\s+couple|couple\s+of|a\s+few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_UNIT = r"(?P<unit>day|week|month|year)s?"


def _number(text: str) -> int:
    text = re.sub(r"\s+of$", "", " ".join(text.lower().split()))
    if text.isdigit():
        return int(text)
    return _NUMBER_WORDS[text.split()[-1]]


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + k
    return index // 12, index % 12 + 1


def _month_range(year: int, month: int) -> DayRange:
    ny, nm = _add_months(year, month, 1)
    return date(year, month, 1), date(ny, nm, 1)


def _shift_months(day: date, k: int) -> date:
    y, m = _add_months(day.year, day.month, k)
    return date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


@dataclass(frozen=True)
class _Ctx:
    today: date
    now_local: datetime
    week_start: int

    def week_of(self, day: date) -> date:
        return day - timedelta(days=(day.weekday() - self.week_start) % 7)

    def rolling(self, n: int, unit: str) -> DayRange:
        end = self.today + timedelta(days=1)
        if unit == "day":
            return self.today - timedelta(days=n), end
        if unit == "week":
            return self.today - timedelta(weeks=n), end
        if unit == "month":
            return _shift_months(self.today, -n), end
        return _shift_months(self.today, -12 * n), end

    def calendar_unit(self, unit: str, back: int) -> DayRange:
        """The calendar unit `back` units before the current one (negative: ahead)."""
        t = self.today
        if unit == "day":
            d = t - timedelta(days=back)
            return d, d + timedelta(days=1)
        if unit == "week":
            start = self.week_of(t) - timedelta(weeks=back)
            return start, start + timedelta(weeks=1)
        if unit == "month":
            return _month_range(*_add_months(t.year, t.month, -back))
        if unit == "year":
            return date(t.year - back, 1, 1), date(t.year - back + 1, 1, 1)
        first = (t.year // 100 - back) * 100  # century: 2000-2099 style
        return date(first, 1, 1), date(first + 100, 1, 1)


class _InvalidDate(ValueError):
    """The phrase is clearly meant as a date but is none (February 30, 2025-13-01, the year 0)."""


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    days: Optional[DayRange]  # None: looked like a date but is not one (e.g. February 30)


# A handler returns the local days, None when the match is not a date after all ("24/7", "I may"),
# or raises _InvalidDate when it is an impossible one (then the query resolves to None).
Handler = Callable[[re.Match, _Ctx], Optional[DayRange]]


def _unit_word(m: re.Match) -> str:
    return m.group("unit").lower().rstrip("s")


def _h_fixed(offset: int) -> Handler:
    return lambda m, c: (c.today + timedelta(days=offset), c.today + timedelta(days=offset + 1))


def _h_rolling_n(m: re.Match, c: _Ctx) -> DayRange:
    return c.rolling(_number(m.group("n")), _unit_word(m))


def _h_rolling_one(m: re.Match, c: _Ctx) -> DayRange:
    return c.rolling(1, _unit_word(m))


def _h_recent(m: re.Match, c: _Ctx) -> DayRange:
    return c.rolling(ROLLING_RECENT_DAYS, "day")


def _h_relative_unit(m: re.Match, c: _Ctx) -> DayRange:
    rel = m.group("rel").lower()
    back = {"this": 0, "current": 0, "last": 1, "previous": 1, "next": -1}[rel]
    return c.calendar_unit(m.group("unit").lower(), back)


def _h_before_last(m: re.Match, c: _Ctx) -> DayRange:
    return c.calendar_unit(m.group("unit").lower(), 2)


def _h_ago(m: re.Match, c: _Ctx) -> DayRange:
    n, unit = _number(m.group("n")), _unit_word(m)
    if unit == "day" and re.search(r"couple|few", m.group("n"), re.I):
        # "a few days ago" is no exact day: from a day before to a day after the number it stands for
        start, _ = c.calendar_unit("day", n + 1)
        _, end = c.calendar_unit("day", n - 1)
        return start, end
    return c.calendar_unit(unit, n)


def _h_weekend(m: re.Match, c: _Ctx) -> DayRange:
    rel = (m.group("rel") or "").lower()
    week = c.week_of(c.today)
    saturday = week + timedelta(days=(5 - c.week_start) % 7)
    if rel in ("last", "past"):
        saturday -= timedelta(weeks=1)
    elif rel == "next":
        saturday += timedelta(weeks=1)
    elif rel != "this" and saturday > c.today:  # "the weekend": the latest one that has started
        saturday -= timedelta(weeks=1)
    return saturday, saturday + timedelta(days=2)


def _h_weekday(m: re.Match, c: _Ctx) -> DayRange:
    rel = (m.group("rel") or "").lower()
    wd = _WEEKDAYS.index(m.group("wd").lower())
    if rel == "this":
        d = c.week_of(c.today) + timedelta(days=(wd - c.week_start) % 7)
    elif rel == "next":
        d = c.today + timedelta(days=(wd - c.today.weekday()) % 7 or 7)
    else:  # bare, on, last: the latest one strictly before today
        d = c.today - timedelta(days=(c.today.weekday() - wd) % 7 or 7)
    return d, d + timedelta(days=1)


def _day(year: int, month: int, day: int) -> DayRange:
    try:
        d = date(year, month, day)
    except ValueError:
        raise _InvalidDate(f"{year:04d}-{month:02d}-{day:02d}") from None
    return d, d + timedelta(days=1)


def _h_iso(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    return _day(int(m.group("y")), int(m.group("mo")), int(m.group("d")))


@functools.lru_cache(maxsize=1)
def _dateparser() -> type:
    from dateparser.date import DateDataParser

    return DateDataParser


def _parse_day(text: str, c: _Ctx) -> Optional[DayRange]:
    """A day named with a month or slashes, through dateparser (past preference, M/D/Y)."""
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", " ".join(text.split()), flags=re.I)
    parser = _dateparser()(
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "past",
            "RELATIVE_BASE": c.now_local.replace(tzinfo=None),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "MDY",
        },
    )
    try:
        data = parser.get_date_data(text)
    except (ValueError, OverflowError):
        raise _InvalidDate(text) from None
    if data.date_obj is None or data.period != "day":
        raise _InvalidDate(text)
    d = data.date_obj.date()
    return d, d + timedelta(days=1)


def _h_named_day(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    day = int(m.group("d"))
    month = _MONTHS[m.group("month").lower().rstrip(".")]
    year = m.group("y")
    if year is not None:
        return _day(int(year), month, day)
    if not 1 <= day <= 31:
        raise _InvalidDate(m.group(0))
    return _parse_day(f"{calendar.month_name[month]} {day}", c)


def _h_slash(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    year, month, day = m.group("y"), int(m.group("mo")), int(m.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31) or (year is not None and len(year) != 4):
        return None  # "24/7", "1/2 cup"; two-digit years are ambiguous (dateparser reads 12/31/24 as 1924)
    if year is not None:
        return _day(int(year), month, day)
    return _parse_day(f"{month}/{day}", c)


def _h_month(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    rel, ctx, year = m.group("rel"), m.group("ctx"), m.group("y")
    if not (rel or ctx or year):
        return None  # a bare month name is too often a word or a name ("I may", "April")
    name = m.group("month").lower()
    if year is None and name in _ABBREVIATIONS:
        return None  # "to mar", "in dec": abbreviations count only with a day or a year
    month = _MONTHS[name]
    t = c.today
    if year is not None:
        return _month_range(int(year), month)
    rel = (rel or "").lower()
    if rel == "this":
        return _month_range(t.year, month)
    if rel == "next":
        return _month_range(t.year + (month <= t.month), month)
    if rel == "last":
        return _month_range(t.year - (month >= t.month), month)
    return _month_range(t.year - (month > t.month), month)


def _h_ordinal(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    day = int(m.group("d"))
    if not 1 <= day <= 31:
        raise _InvalidDate(m.group(0))
    y, mo = c.today.year, c.today.month
    for _ in range(24):
        if day <= calendar.monthrange(y, mo)[1] and date(y, mo, day) <= c.today:
            d = date(y, mo, day)
            return d, d + timedelta(days=1)
        y, mo = _add_months(y, mo, -1)
    return None


def _h_year(m: re.Match, c: _Ctx) -> Optional[DayRange]:
    year = int(m.group("y"))
    if not 1 <= year < 9999:
        raise _InvalidDate(m.group("y"))
    return date(year, 1, 1), date(year + 1, 1, 1)


_CTX = r"in|during|on|since|from|until|till|through|of|by|early|late|mid|to|and|between|before|after|around"
_F = re.IGNORECASE
_RULES: list[tuple[re.Pattern, Handler]] = [
    (re.compile(r"\bthe\s+day\s+before\s+yesterday\b", _F), _h_fixed(-2)),
    (re.compile(r"\byesterday\b|\blast\s+night\b", _F), _h_fixed(-1)),
    (re.compile(r"\btoday\b|\btonight\b|\bthis\s+(?:morning|afternoon|evening)\b", _F), _h_fixed(0)),
    (re.compile(r"\btomorrow\b", _F), _h_fixed(1)),
    (re.compile(rf"\b(?:the\s+)?(?:last|past|previous)\s+{_NUM}\s+{_UNIT}\b", _F), _h_rolling_n),
    (re.compile(rf"\b(?:in|over|during|within|for)\s+the\s+(?:last|past)\s+{_UNIT}\b", _F), _h_rolling_one),
    (re.compile(rf"\b(?:the\s+)?past\s+{_UNIT}\b", _F), _h_rolling_one),
    (re.compile(r"\b(?:recently|lately|these\s+days)\b", _F), _h_recent),
    (re.compile(r"\bthe\s+(?P<unit>week|month|year)\s+before\s+last\b", _F),
     _h_before_last),
    (re.compile(r"\b(?P<rel>this|current|last|previous|next)\s+(?P<unit>week|month|year|century)\b", _F),
     _h_relative_unit),
    (re.compile(rf"\b{_NUM}\s+{_UNIT}\s+ago\b", _F), _h_ago),
    (re.compile(r"\b(?:(?P<rel>last|past|this|next)\s+|(?:over\s+|on\s+|at\s+)?the\s+)weekend\b", _F), _h_weekend),
    (re.compile(rf"\b(?:(?P<rel>last|this|next|past)\s+)?(?P<wd>{'|'.join(_WEEKDAYS)})\b", _F), _h_weekday),
    (re.compile(r"\b(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})\b"), _h_iso),
    (re.compile(rf"\b(?P<month>{_MONTH_RE})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*[:/])"
                rf"(?:,?\s+(?P<y>\d{{4}})\b)?", _F), _h_named_day),
    (re.compile(rf"\b(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH_RE})\b\.?"
                rf"(?:,?\s+(?P<y>\d{{4}})\b)?", _F), _h_named_day),
    (re.compile(r"(?<![\d/])(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?:/(?P<y>\d{2,4}))?(?![\d/])"), _h_slash),
    (re.compile(rf"(?:\b(?P<rel>last|this|next)\s+|\b(?P<ctx>{_CTX})[\s-]+(?:the\s+month\s+of\s+)?)?"
                rf"(?P<core>\b(?P<month>{_MONTH_RE})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?)", _F), _h_month),
    (re.compile(rf"(?P<core>\bthe\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)\b)(?!\s+(?:of\s+)?(?:{_MONTH_RE})\b)", _F),
     _h_ordinal),
    (re.compile(rf"\b(?:{_CTX}|back\s+in)\s+(?:the\s+year\s+)?(?P<core>(?P<y>\d{{4}}))\b(?!\s*(?:/|-\d|:))", _F),
     _h_year),
]

_SINCE_BEFORE = re.compile(r"\bsince\s+$", _F)
_RANGE_BEFORE = re.compile(r"\b(?:between|from)\s+$", _F)
_RANGE_JOIN = re.compile(r"\s*(?:and|to|until|till|through|-|–)\s+", _F)


def _candidates(query: str, c: _Ctx) -> list[_Candidate]:
    found: list[_Candidate] = []
    for pattern, handler in _RULES:
        for m in pattern.finditer(query):
            try:
                days = handler(m, c)
            except (ValueError, OverflowError):  # _InvalidDate, or beyond what a date holds
                days = None
            else:
                if days is None:
                    continue  # not a date after all
            if "core" in pattern.groupindex and not (handler is _h_month and m.group("rel")):
                start, end = m.span("core")
            else:
                start, end = m.span()
            found.append(_Candidate(start, end, days))
    return found


def _compose(query: str, found: list[_Candidate], c: _Ctx) -> list[_Candidate]:
    """since X; between X and Y; from X to Y."""
    out = list(found)
    by_start: dict[int, list[_Candidate]] = {}
    for cand in found:
        by_start.setdefault(cand.start, []).append(cand)
    tomorrow = c.today + timedelta(days=1)
    for cand in found:
        head = query[: cand.start]
        if (m := _SINCE_BEFORE.search(head)) and cand.days:
            out.append(_Candidate(m.start(), cand.end, (cand.days[0], max(tomorrow, cand.days[1]))))
        if (m := _RANGE_BEFORE.search(head)) and cand.days:
            join = _RANGE_JOIN.match(query, cand.end)
            if join:
                for other in sorted(by_start.get(join.end(), []), key=lambda o: o.start - o.end):
                    if other.days:
                        days = (min(cand.days[0], other.days[0]), max(cand.days[1], other.days[1]))
                        out.append(_Candidate(m.start(), other.end, days))
                        break
    return out


def resolve_time_range(
    query: str, now: datetime | None = None, tz: str = "UTC", week_start: int = MONDAY
) -> TimeRange | None:
    """The time range a query names, as a half-open UTC [start, end), or None (see the module doc).

    `now` must be timezone-aware (default: the current time); `tz` is the user's IANA time zone,
    in which "today", "yesterday", weeks and months are counted; weeks start on Monday
    (`week_start=0`). Raises ValueError for a naive `now` or an unknown time zone.
    """
    zone = get_zone(tz)
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    if not 0 <= week_start <= 6:
        raise ValueError("week_start must be 0 (Monday) to 6 (Sunday)")
    if not query or not query.strip():
        return None
    try:
        now_local = now.astimezone(zone)
    except OverflowError:
        raise ValueError(f"now {now.isoformat()} is out of range: in {zone.key} it falls outside years 1-9999") from None
    ctx = _Ctx(now_local.date(), now_local, week_start)
    try:
        found = _compose(query, _candidates(query, ctx), ctx)
    except OverflowError:  # a `now` on the first or last day a date holds: no day before or after it
        return None
    if not found:
        return None
    best = min(found, key=lambda cand: (cand.start, -(cand.end - cand.start)))
    if best.days is None:
        return None
    first, end = best.days
    try:
        start_utc = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
        end_utc = datetime.combine(end, time(0), tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if end_utc <= start_utc:
        return None
    return TimeRange(
        start=start_utc, end=end_utc, phrase=" ".join(query[best.start : best.end].split()),
        tz=zone.key, first_day=first, last_day=end - timedelta(days=1),
    )


def warm_up() -> None:
    """Load dateparser's language data now (its first parse takes ~0.1 s), e.g. at API startup."""
    ctx = _Ctx(date(2025, 1, 1), datetime(2025, 1, 1, tzinfo=UTC), MONDAY)
    _parse_day("March 3", ctx)
