"""Calendar dates as RethinkDB reads them through Boost's proleptic Gregorian calendar, which spans the years 1400 to
10000: Python's datetime stops at 9999, so the arithmetic is done here by hand on whole days, refused with Boost's
errors.
"""

from __future__ import annotations

from rethink_widgets.server.errors import ReqlQueryLogicError

MS_PER_DAY = 86_400_000
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def time_logic_error(message: str) -> ReqlQueryLogicError:
    """An error Boost raises, as RethinkDB passes it on."""
    return ReqlQueryLogicError(f"Error in time logic: {message}.")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The (year, month, day) of a count of days since 1970-01-01, the inverse of `days_from_civil`."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def check_year(year: int) -> None:
    """Refuse a year outside the span of Boost's calendar."""
    if not 1400 <= year <= 10000:
        raise time_logic_error("Year is out of valid range: 1400..10000")


def date_days(year: int, month: int, day: int) -> int:
    """Days since the epoch of a date, refused as Boost's date constructor refuses it."""
    check_year(year)
    if not 1 <= month <= 12:
        raise time_logic_error("Month number is out of range 1..12")
    if not 1 <= day <= 31:
        raise time_logic_error("Day of month value is out of range 1..31")
    if day > _DAYS_IN_MONTH[month] + (month == 2 and _is_leap(year)):
        raise time_logic_error("Day of month is not valid for year")
    return days_from_civil(year, month, day)
