"""Dates and times as text: the one parser and the one formatter.

`parse_timestamp()` reads what the import files write (and what `iso_datetime()` wrote
into an article's values snapshot); `iso_datetime()` writes the form the files, the
snapshot and the JSON API use: `2020-12-10T06:48:00Z`.

Pure Python (no Django) so that the file parser can use it in worker processes, and
so that the public pages can use it without knowing the file format.
"""

import datetime as dt
import re

# Dates outside these years are refused: no article is older, and arithmetic near
# year 1 or 9999 (a time-zone offset, say) overflows.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999

# YAML's timestamp (what the real files write unquoted).
TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]*))?"
    r"(?:[ \t]*(?P<tz>Z|(?P<sign>[-+])(?P<tz_hour>[0-9]{1,2})(?::?(?P<tz_minute>[0-9]{2}))?))?)?"
)


def parse_timestamp(text: str) -> dt.datetime | None:
    """A date or date and time as the files write it, in UTC; None if it is not one or
    lies outside the years EARLIEST_YEAR to LATEST_YEAR (so that no arithmetic on it
    can overflow). A date alone is midnight UTC; no offset means UTC."""
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":
        # What iso_datetime() writes (the snapshot, exported files): the import's hot
        # path, read by the C parser.
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return value if EARLIEST_YEAR <= value.year <= LATEST_YEAR else None
    text = text.strip()
    match = TIMESTAMP.fullmatch(text)
    try:
        if match:
            year, month, day = (int(match[name]) for name in ("year", "month", "day"))
            if not EARLIEST_YEAR <= year <= LATEST_YEAR:
                return None
            if match["hour"] is None:
                return dt.datetime(year, month, day, tzinfo=dt.UTC)
            fraction = (match["fraction"] or "")[:6].ljust(6, "0")
            offset = dt.timedelta(0)
            if match["sign"]:
                offset = dt.timedelta(
                    hours=int(match["tz_hour"]), minutes=int(match["tz_minute"] or 0)
                )
                offset = -offset if match["sign"] == "-" else offset
            value = dt.datetime(
                year,
                month,
                day,
                int(match["hour"]),
                int(match["minute"]),
                int(match["second"]),
                int(fraction),
                tzinfo=dt.timezone(offset),
            )
        else:  # other ISO 8601 spellings (no seconds, compact forms)
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
                return None
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
    except ValueError:  # a day or hour out of range, an offset of a day or more
        return None
    return value.astimezone(dt.UTC)


def iso_datetime(value: dt.datetime | None) -> str | None:
    """`2020-12-10T06:48:00Z`: UTC, whole seconds, the year always four digits."""
    if value is None:
        return None
    v = value.astimezone(dt.UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"
