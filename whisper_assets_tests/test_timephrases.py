"""resolve_time_range: calendar phrases against a fixed `now`, in UTC and in the user's time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from whisper_assets.core.timephrases import resolve_time_range

UTC = timezone.utc
WED = datetime(2025, 11, 12, 15, 0, tzinfo=UTC)  # a Wednesday


def z(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def days(query: str, now: datetime = WED, tz: str = "UTC", **kw) -> tuple[date, date] | None:
    r = resolve_time_range(query, now, tz, **kw)
    return None if r is None else (r.first_day, r.last_day)


@pytest.mark.parametrize(
    "query, first, last",
    [
        ("what did we talk about today?", "2025-11-12", "2025-11-12"),
        ("what did I tell you yesterday?", "2025-11-11", "2025-11-11"),
        ("last night", "2025-11-11", "2025-11-11"),
        ("the day before yesterday", "2025-11-10", "2025-11-10"),
        ("3 days ago", "2025-11-09", "2025-11-09"),
        ("a few days ago", "2025-11-08", "2025-11-10"),
        ("a couple of days ago", "2025-11-09", "2025-11-11"),
        ("what did we discuss last week?", "2025-11-03", "2025-11-09"),
        ("previous week", "2025-11-03", "2025-11-09"),
        ("this week", "2025-11-10", "2025-11-16"),
        ("a week ago", "2025-11-03", "2025-11-09"),
        ("two weeks ago", "2025-10-27", "2025-11-02"),
        ("a couple of weeks ago", "2025-10-27", "2025-11-02"),
        ("what did we talk about the week before last?", "2025-10-27", "2025-11-02"),
        ("the month before last", "2025-09-01", "2025-09-30"),
        ("last month", "2025-10-01", "2025-10-31"),
        ("this month", "2025-11-01", "2025-11-30"),
        ("3 months ago", "2025-08-01", "2025-08-31"),
        ("last year", "2024-01-01", "2024-12-31"),
        ("in the last week", "2025-11-05", "2025-11-12"),
        ("over the past 3 days", "2025-11-09", "2025-11-12"),
        ("the last two weeks", "2025-10-29", "2025-11-12"),
        ("recently", "2025-11-05", "2025-11-12"),
        ("in March", "2025-03-01", "2025-03-31"),
        ("during november", "2025-11-01", "2025-11-30"),  # the current month counts
        ("in December", "2024-12-01", "2024-12-31"),  # latest December that has started
        ("last March", "2025-03-01", "2025-03-31"),
        ("March 2024", "2024-03-01", "2024-03-31"),
        ("on March 3rd", "2025-03-03", "2025-03-03"),
        ("on the 3rd of March, 2024", "2024-03-03", "2024-03-03"),
        ("Dec 25", "2024-12-25", "2024-12-25"),
        ("2025-10-01", "2025-10-01", "2025-10-01"),
        ("on 10/5/2025", "2025-10-05", "2025-10-05"),
        ("on Monday", "2025-11-10", "2025-11-10"),
        ("last Friday", "2025-11-07", "2025-11-07"),
        ("this Monday", "2025-11-10", "2025-11-10"),
        ("next Monday", "2025-11-17", "2025-11-17"),
        ("last weekend", "2025-11-08", "2025-11-09"),
        ("over the weekend", "2025-11-08", "2025-11-09"),
        ("since the 3rd", "2025-11-03", "2025-11-12"),
        ("since Monday", "2025-11-10", "2025-11-12"),
        ("since last week", "2025-11-03", "2025-11-12"),
        ("since 2024", "2024-01-01", "2025-11-12"),
        ("on the 31st", "2025-10-31", "2025-10-31"),  # November has no 31st yet
        ("between March and May", "2025-03-01", "2025-05-31"),
        ("from March 3 to March 10", "2025-03-03", "2025-03-10"),
        ("in 2024", "2024-01-01", "2024-12-31"),
    ],
)
def test_phrases(query, first, last):
    assert days(query) == (date.fromisoformat(first), date.fromisoformat(last))


def test_half_open_utc_range_and_phrase():
    r = resolve_time_range("What did we talk about last week?", WED)
    assert (r.start, r.end) == (z("2025-11-03T00:00Z"), z("2025-11-10T00:00Z"))
    assert r.phrase == "last week" and r.tz == "UTC" and r.label == "2025-11-03 to 2025-11-09"
    r = resolve_time_range("and today?", WED)
    assert (r.start, r.end) == (z("2025-11-12T00:00Z"), z("2025-11-13T00:00Z"))


@pytest.mark.parametrize(
    "query",
    ["what do you know about my job?", "I may go to Lisbon", "April said hi", "I sat down", "we run 24/7",
     "what did I say to mar it", "", "   ", "my 5 kids"],
)
def test_no_time_phrase(query):
    assert resolve_time_range(query, WED) is None


def test_sunday_monday_edge():
    sunday_late = z("2025-11-16T23:30Z")
    monday_early = z("2025-11-17T00:10Z")
    assert days("this week", sunday_late) == (date(2025, 11, 10), date(2025, 11, 16))
    assert days("last week", sunday_late) == (date(2025, 11, 3), date(2025, 11, 9))
    assert days("this week", monday_early) == (date(2025, 11, 17), date(2025, 11, 23))
    assert days("last week", monday_early) == (date(2025, 11, 10), date(2025, 11, 16))
    # "on Monday" asked on a Monday is the previous Monday ("today" names today)
    assert days("on Monday", monday_early) == (date(2025, 11, 10), date(2025, 11, 10))
    assert days("this weekend", sunday_late) == (date(2025, 11, 15), date(2025, 11, 16))
    assert days("last weekend", sunday_late) == (date(2025, 11, 8), date(2025, 11, 9))
    # weeks starting on Sunday, when asked for
    assert days("this week", WED, week_start=6) == (date(2025, 11, 9), date(2025, 11, 15))


def test_month_boundary():
    now = z("2025-12-01T00:30Z")
    assert days("yesterday", now) == (date(2025, 11, 30), date(2025, 11, 30))
    assert days("last month", now) == (date(2025, 11, 1), date(2025, 11, 30))
    assert days("this month", now) == (date(2025, 12, 1), date(2025, 12, 31))
    # in Los Angeles it is still November 30: "this month" is November, across the DST change
    r = resolve_time_range("this month", now, "America/Los_Angeles")
    assert (r.start, r.end) == (z("2025-11-01T07:00Z"), z("2025-12-01T08:00Z"))
    assert r.label == "2025-11-01 to 2025-11-30, America/Los_Angeles"


def test_new_year():
    now = z("2026-01-01T00:05Z")  # a Thursday
    assert days("yesterday", now) == (date(2025, 12, 31), date(2025, 12, 31))
    assert days("last year", now) == (date(2025, 1, 1), date(2025, 12, 31))
    assert days("last month", now) == (date(2025, 12, 1), date(2025, 12, 31))
    assert days("this week", now) == (date(2025, 12, 29), date(2026, 1, 4))
    assert days("last week", now) == (date(2025, 12, 22), date(2025, 12, 28))
    assert days("in December", now) == (date(2025, 12, 1), date(2025, 12, 31))
    assert days("in March", now) == (date(2025, 3, 1), date(2025, 3, 31))
    assert days("Dec 31", now) == (date(2025, 12, 31), date(2025, 12, 31))
    # still 2025 in Los Angeles
    assert days("this year", now, "America/Los_Angeles") == (date(2025, 1, 1), date(2025, 12, 31))


def test_leap_day():
    now = z("2024-03-01T10:00Z")
    assert days("yesterday", now) == (date(2024, 2, 29), date(2024, 2, 29))
    assert days("last month", now) == (date(2024, 2, 1), date(2024, 2, 29))
    assert days("on Feb 29", now) == (date(2024, 2, 29), date(2024, 2, 29))
    # from a non-leap year, Feb 29 is the latest leap day
    assert days("on February 29th", z("2025-03-01T10:00Z")) == (date(2024, 2, 29), date(2024, 2, 29))
    assert days("the past month", z("2024-03-31T10:00Z")) == (date(2024, 2, 29), date(2024, 3, 31))
    assert days("on February 30") is None  # clearly a date, and not one
    assert days("2025-02-29") is None


def test_user_time_zone_changes_yesterday():
    now = z("2025-11-12T03:00Z")  # Nov 11, 19:00 in Los Angeles
    assert days("yesterday", now) == (date(2025, 11, 11), date(2025, 11, 11))
    r = resolve_time_range("yesterday", now, "America/Los_Angeles")
    assert (r.first_day, r.last_day) == (date(2025, 11, 10), date(2025, 11, 10))
    assert (r.start, r.end) == (z("2025-11-10T08:00Z"), z("2025-11-11T08:00Z"))
    r = resolve_time_range("today", now, "Asia/Tokyo")  # Nov 12, 12:00 in Tokyo
    assert (r.start, r.end) == (z("2025-11-11T15:00Z"), z("2025-11-12T15:00Z"))


def test_dst_day_is_25_hours():
    r = resolve_time_range("yesterday", z("2025-11-03T20:00Z"), "America/Los_Angeles")
    assert (r.start, r.end) == (z("2025-11-02T07:00Z"), z("2025-11-03T08:00Z"))


def test_absurd_ranges_do_not_crash():
    r = resolve_time_range("what did we talk about in 1850?", WED)
    assert (r.start, r.end) == (z("1850-01-01T00:00Z"), z("1851-01-01T00:00Z"))
    r = resolve_time_range("next century", WED)
    assert (r.first_day, r.last_day) == (date(2100, 1, 1), date(2199, 12, 31))
    assert days("last century") == (date(1900, 1, 1), date(1999, 12, 31))
    assert days("in 1850", tz="America/Los_Angeles") == (date(1850, 1, 1), date(1850, 12, 31))
    for query in ("in 9999", "in 0000", "5000 years ago", "the last 9999 years", "on 13/45/2025", "in 10000"):
        resolve_time_range(query, WED)  # None or a range, never an exception
    assert days("in 9999") is None
    assert days("5000 years ago") is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_time_range("yesterday", datetime(2025, 11, 12, 15, 0))
    with pytest.raises(ValueError, match="unknown time zone"):
        resolve_time_range("yesterday", WED, "Mars/Olympus")
    with pytest.raises(ValueError, match="unknown time zone"):
        resolve_time_range("yesterday", WED, "../../etc/passwd")


def test_default_now_is_current_time():
    r = resolve_time_range("today")
    assert r.start <= datetime.now(UTC) < r.end
