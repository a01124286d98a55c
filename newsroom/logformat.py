"""Log records as JSON lines on stdout.

One object per line, so a log shipper (journald, Docker, Loki, CloudWatch...) can
parse every line without custom rules, and `grep`/`jq` work on a plain file.
Used by Django's LOGGING (newsroom/settings.py) and by gunicorn (gunicorn.conf.py).
"""

import datetime as dt
import json
import logging

# Attributes every LogRecord has; anything else came from `extra={...}` and is kept.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(self.extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an object passed in `extra` (a request, say) is written as its
        # repr rather than breaking the log line.
        return json.dumps(entry, default=str, ensure_ascii=False)

    def extra_fields(self, record: logging.LogRecord) -> dict:
        return {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        }


class GunicornAccessFormatter(JsonFormatter):
    """Gunicorn's access log line, with the request's parts as separate JSON fields.

    Gunicorn passes its "atoms" (h = remote address, m = method, U = path, ...) as the
    record's arguments; see gunicorn's `access_log_format` documentation.
    """

    ATOMS = {
        "remote_addr": "h",
        "method": "m",
        "path": "U",
        "query": "q",
        "status": "s",
        "bytes": "B",
        "duration_ms": "M",
        "referer": "f",
        "user_agent": "a",
    }

    def extra_fields(self, record: logging.LogRecord) -> dict:
        fields = super().extra_fields(record)
        atoms = record.args if isinstance(record.args, dict) else {}
        for name, atom in self.ATOMS.items():
            value = atoms.get(atom)
            if value in (None, "-", ""):
                continue
            if name == "status" and str(value).isdigit():
                value = int(value)
            fields[name] = value
        return fields
