"""What the logs may say: no secret from a URL, and a refusal in one line.

- Secrets in query strings (the SMS providers' receipt URLs carry `?token=…`, since Aliyun and
  Tencent sign nothing) are written as `token=[redacted]` by every handler of settings.LOGGING
  (runserver's request lines included) and by gunicorn's access log (GunicornLogger, named in
  gunicorn.conf.py).
- A 403 (and the 400 of a suspicious request, such as a refused admin lookup) is logged in one
  line: Django logs them with the whole traceback at WARNING, hundreds of lines of noise a day
  for refusals the application meant.
"""

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

# Query parameters that carry a secret: the receipt token and the usual names for keys and
# signatures. Matched after ? or & (or ; in a cookie-like string), up to the next separator.
_SECRET_PARAMS = re.compile(
    r"(?P<name>(?:^|[?&;\s])(?:token|access_token|secret|key|signature|sign)=)[^&;\s\"']+",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every secret query parameter's value replaced by [redacted]."""
    return _SECRET_PARAMS.sub(lambda m: m["name"] + REDACTED, text) if "=" in text else text


class RedactSecrets(logging.Filter):
    """On a handler: the record's message, formatted, without secret query parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logging call's problem, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


REFUSALS = frozenset({400, 403})


class OneLineRefusals(logging.Filter):
    """On django.request and on the handlers: a 403 or a suspicious-request 400 keeps its
    message ("Forbidden (Permission denied): /residents/12/edit/") and loses its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in REFUSALS:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class GunicornLogger(_GunicornLogger):
    """Gunicorn's access log with secret query parameters redacted (gunicorn.conf.py names it):
    the request line, the query string and every header or environ atom a format may use."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in found.items()}


class JsonLines(logging.Formatter):
    """One JSON object a line (WUYI_LOG_FORMAT=json), for a log shipper: time (ISO 8601, UTC),
    level, logger, message, and when present the request's status code and the exception's
    type and traceback. The message is what the filters left of it (secrets redacted); nothing
    else of the record is written, so no argument the message did not show (a request, a user)
    reaches the log."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime
        import json

        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
