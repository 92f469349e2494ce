"""Why a service cannot start, in words an operator can act on."""

from __future__ import annotations

import re


class StartupError(Exception):
    """An operator-fixable reason a command cannot start or go on: the
    problem, and what to check. Commands print both in one or two lines
    (:func:`bridge.cmd.common.run`), without a traceback."""

    def __init__(self, problem: str, hint: str = '') -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    return re.sub(r'(//[^/:@]*:)[^/@]*@', r'\1***@', url)


def storage_unavailable(url: str, exc: Exception) -> StartupError:
    """The StartupError of a storage that does not answer at start."""
    return StartupError(
        'storage unavailable at %s: %s' % (redact_url(url), exc),
        'check [storage] url and that the database server runs and '
        'accepts connections from this host.')
