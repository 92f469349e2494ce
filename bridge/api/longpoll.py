"""Long polling (``wait=N`` on GET messages and POST claims), request side.

A resource that finds nothing to return and was asked to wait *parks* the
request: it answers the normal empty answer and leaves, in the WSGI
environment, how long the client is willing to wait and for which queue.
The ASGI layer (:mod:`bridge.api.asgi`) then holds the connection on its
event loop (no thread) until a wake-up for that queue arrives
(:mod:`bridge.wakeups`), and runs the same request again; at the end of the
wait it sends the empty answer. Under a plain WSGI server (uWSGI,
``bridge-wsgi-api``) nothing holds the request: ``wait`` answers at once.
"""

from __future__ import annotations

from typing import Any

import falcon

from bridge.api import validation
from bridge.wakeups import Key

#: WSGI environment key of a parked request: (seconds, (project, queue)).
ENV_KEY = 'bridge.long_poll'


def wait_param(req: falcon.Request, limits: validation.Limits) -> int:
    """The ``wait`` query parameter: 0 (the default) to ``[limits]
    max_wait`` seconds."""
    return validation.int_param(req.get_param('wait'), 'wait', 0, 0,
                                limits.max_wait)


def park(req: falcon.Request, queue_name: str, seconds: int) -> None:
    """Ask the server to retry this request when ``queue_name`` gets
    messages, for at most ``seconds`` (0: do not wait)."""
    if seconds > 0:
        req.env[ENV_KEY] = (seconds, (req.context.owner, queue_name))


def parked(environ: dict[str, Any]) -> tuple[int, Key] | None:
    """What :func:`park` asked for in this request, if anything."""
    return environ.get(ENV_KEY)
