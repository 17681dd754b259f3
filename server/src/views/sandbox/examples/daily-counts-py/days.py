from datetime import datetime, timedelta


def _parse(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def days_between(start, end):
    day, stop = _parse(start), _parse(end)
    while day < stop:
        yield day.strftime("%Y-%m-%d")
        day += timedelta(days=1)
