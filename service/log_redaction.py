"""Keep secrets out of log lines.

Screens pair with a cookie now, but an old bookmark or a hand-typed ``?token=...`` still reaches
the access log, which is kept longer and read by more people than the token database. This filter
masks token-like query values (``token``, ``access_token``), bearer tokens (``cwt_...``) and the
password of any URL (``https://user:***@host``) before any handler writes the record.
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"((?:^|[?&;\s])(?:access_)?token=)[^&\s\"']*", re.IGNORECASE)
_BEARER = re.compile(r"cwt_[A-Za-z0-9_\-]+")
# ``scheme://user:password@`` in any URL (a webhook receiver or broker behind basic
# authentication): masked as the camera stream URLs are (``detector.media.recorder``, not imported:
# it loads PyAV). The password runs to the last @ before the path, quotes included (``'`` is a
# legal URL character): before, one with a quote in it was left as it was.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s'\"?#]*:)[^/\s?#]*@")
MASK = "[redacted]"


def scrub(text: str) -> str:
    text = _USERINFO.sub(r"\g<head>***@", text)
    return _BEARER.sub("cwt_" + MASK, _QUERY.sub(r"\1" + MASK, text))


class SecretFilter(logging.Filter):
    """Rewrites the message and string arguments of every record it sees; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(names: tuple[str, ...] = ("uvicorn.access", "uvicorn.error", "service", "")) -> None:
    """Mask every record the process makes, whichever logger makes it; and add the filter to these
    loggers once (the root logger's name is the empty string) for records made elsewhere.

    A logger's filter sees only the records logged on that very logger, not those its children
    pass up: with the filters alone, ``service.events`` (a webhook URL's ``?token=``) and every
    other module's logger wrote the secret as given. The record factory is where every record of
    every logger is made."""
    make_record = logging.getLogRecordFactory()
    if not getattr(make_record, "masks_secrets", False):

        def masked_record(*args, **kwargs) -> logging.LogRecord:  # noqa: ANN002, ANN003
            record = make_record(*args, **kwargs)
            _FILTER.filter(record)
            return record

        masked_record.masks_secrets = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(masked_record)
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretFilter) for f in logger.filters):
            logger.addFilter(SecretFilter())


_FILTER = SecretFilter()
