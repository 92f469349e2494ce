"""Why a service cannot start, in words an operator can act on."""

from __future__ import annotations


class StartupError(Exception):
    """An operator-fixable reason a command cannot start or go on: the
    problem, and what to check. Commands print both in one or two lines
    (:func:`bridge.cmd.common.run`), without a traceback."""

    def __init__(self, problem: str, hint: str = '') -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
