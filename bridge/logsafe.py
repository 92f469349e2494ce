"""Log lines that a client cannot forge.

A request path or header can carry control characters (``%0a`` decodes to
a newline); written raw, they would start a fake log line or drive a
terminal. :func:`install` puts :class:`EscapeControlCharacters` on every
handler of the root logger (where oslo.log's ``log.setup`` puts bridge's),
so each record's message is written with its control characters escaped
(``\\n``, ``\\x00``, ``\\x1b``, ...). Tracebacks, which are bridge's own
text, keep their lines.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f]')


def escape(text: str) -> str:
    """``text`` with each control character as a Python escape."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class EscapeControlCharacters(logging.Filter):
    """Rewrites a record whose formatted message holds a control
    character; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg = escape(message)
            record.args = None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Escape control characters in every handler of ``logger`` (the root
    logger by default); call after ``oslo_log.log.setup``."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, EscapeControlCharacters)
                   for f in handler.filters):
            handler.addFilter(EscapeControlCharacters())
