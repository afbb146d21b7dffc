"""No villager's token in any log: card links (`/c/<token>`), notice links (`/n/<token>`, `/me/notices/…`).

A card's QR link is the household's only credential, yet an access log prints every request line, and an
error log the path of a failed request. `install()` wraps logging's record factory, so that every record of
every logger of the process (gunicorn's access and error logs, Flask's, Werkzeug's) has its tokens replaced
by `[redacted]` before any handler formats it. `gunicorn.conf.py` installs it in the gunicorn master, whose
workers inherit it; `create_app` installs it for `flask run` and the CLI. Installing twice is harmless.
"""

import logging
import re
from urllib.parse import unquote

REDACTED = "[redacted]"
#: A path that starts (after a space, a quote or a host) with a villager's link, and the token after it.
_TOKEN_LINK = re.compile(
    r"""(^|[\s"'(]|://[^/\s"']*)(/+(?:c|n|me/+notices)/+)([^/?#\s"']+)""", re.IGNORECASE | re.MULTILINE
)


def redact(text: str) -> str:
    """`text` with the token of every villager link replaced (percent-escapes decoded first, so that an
    escaped path such as `/%63/<token>`, which the router reads as `/c/<token>`, is caught too); a text
    without such a link comes back unchanged."""
    for candidate in (text, unquote(text)) if "%" in text else (text,):
        redacted, found = _TOKEN_LINK.subn(rf"\1\2{REDACTED}", candidate)
        if found:
            return redacted
    return text


def install() -> None:
    """Redact every log record made from now on in this process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_tokens", False):
        return

    def make_record(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call is the handler's to report, not ours
            return record
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return record

    make_record.redacts_tokens = True
    logging.setLogRecordFactory(make_record)
