"""``POST /v2/queues/{queue_name}/share``: a pre-signed URL for the queue
(:mod:`bridge.signed_urls`), as Zaqar answers it: ``200`` with
``signature``, ``expires``, ``paths``, ``methods`` and ``project`` (the
caller's). Nothing is stored: the signature is the grant."""

from __future__ import annotations

import falcon

from bridge import signed_urls
from bridge.api import errors
from bridge.api import share_validation
from bridge.api import validation
from bridge.api import wire


class Share:
    """``/v2/queues/{queue_name}/share``"""

    rules = {'POST': 'queues:share'}

    def __init__(self, limits: validation.Limits, secret_key: str | None,
                 default_expiry: int) -> None:
        self._limits = limits
        self._key = secret_key
        self._default_expiry = default_expiry

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        if not self._key:
            raise errors.BadRequest('Pre-signed URLs are not enabled: the '
                                    'operator has not set [signed_url] '
                                    'secret_key.')
        grant = share_validation.share_request(
            wire.read_json(req, self._limits), wire.queue_path(queue_name),
            req.context.project, signed_urls.utcnow(), self._default_expiry)
        wire.send(resp, signed_urls.document(self._key, grant))
