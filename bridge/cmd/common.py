"""What every bridge command shares: quiet imports and clean failures.

* :func:`hide_third_party_warnings` keeps other packages' deprecation
  warnings (eventlet's dnspython importing cryptography's DSA, ...) out of
  ``--help`` and start-up output. It runs when :mod:`bridge.cmd` is
  imported, i.e. before a console script imports anything heavy. ``-W`` or
  ``PYTHONWARNINGS`` turn them back on.
* :func:`run` runs a command's main function and turns the failures an
  operator can fix (a missing configuration file, an invalid option,
  unreachable storage or RabbitMQ, a busy port) into one or two lines on
  stderr, the problem and what to check, with exit status 1. The traceback
  is printed only with ``--debug``. Servers (bridge-api under any WSGI
  server) can call :func:`fail` directly.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from typing import Callable, Sequence, TextIO

from bridge.startup import StartupError

#: Exit status of a command that could not start or run.
FAILED = 1

_DEPRECATED = r'(?s).*(deprecat|will be removed)'


def hide_third_party_warnings() -> None:
    """Ignore deprecation warnings raised outside bridge (see above)."""
    if sys.warnoptions:
        return
    not_bridge = r'^(?!bridge(\.|$))'
    for category in (DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings('ignore', category=category,
                                module=not_bridge)
    # cryptography's CryptographyDeprecationWarning is a UserWarning.
    # (``message`` is matched case-insensitively.)
    warnings.filterwarnings('ignore', message=_DEPRECATED, module=not_bridge)


def debug_requested(argv: Sequence[str]) -> bool:
    return any(arg in ('--debug', '-d') for arg in argv)


def fail(prog: str, problem: str, hint: str = '', *,
         debug: bool = False, out: TextIO | None = None) -> int:
    """Print the problem (and the hint) for ``prog``; return :data:`FAILED`.
    With ``debug``, the exception being handled is printed first."""
    out = out or sys.stderr
    if debug and sys.exc_info()[0] is not None:
        traceback.print_exc(file=out)
    print('%s: %s' % (prog, problem), file=out)
    if hint:
        print('%s: %s' % (prog, hint), file=out)
    out.flush()
    return FAILED


def explain(exc: BaseException) -> StartupError | None:
    """The :class:`~bridge.startup.StartupError` an exception stands for;
    None for anything else (a bug: its traceback is shown)."""
    from oslo_config import cfg

    from bridge.storage import errors as storage_errors
    if isinstance(exc, StartupError):
        return exc
    if isinstance(exc, cfg.ConfigFilesNotFoundError):
        return StartupError(
            'configuration file not found or not readable: %s'
            % ', '.join(exc.config_files),
            'check the --config-file path and its permissions.')
    if isinstance(exc, (cfg.ConfigFileParseError, cfg.ConfigFileValueError,
                        cfg.RequiredOptError)):
        return StartupError(
            'invalid configuration: %s' % exc,
            'check the option named above in the configuration file.')
    if isinstance(exc, storage_errors.Unavailable):
        return StartupError(
            'storage unavailable: %s' % exc,
            'check [storage] url and that the database server runs and '
            'accepts connections from this host.')
    return None


def run(prog: str, main: Callable[[list[str]], int | None],
        argv: Sequence[str] | None = None) -> int:
    """Run ``main(args)``; operator-fixable failures end it cleanly."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return main(args) or 0
    except Exception as exc:  # noqa: BLE001 - sorted just below
        failure = explain(exc)
        if failure is None:
            raise
        return fail(prog, failure.problem, failure.hint,
                    debug=debug_requested(args))
