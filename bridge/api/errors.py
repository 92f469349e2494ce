"""Every HTTP error the API sends, and the one place exceptions become them.

Error bodies are Zaqar's ``{"title": ..., "description": ...}`` JSON, always,
whatever the ``Accept`` header says (clients such as python-zaqarclient read
both fields). :func:`install` maps the storage error tree and
:class:`~bridge.api.validation.ValidationError` to statuses once; anything
else is a 500 whose body never carries exception text.
"""

from __future__ import annotations

import json
from typing import Any

import falcon
from oslo_log import log

from bridge.api import validation
from bridge.storage import errors as storage_errors

LOG = log.getLogger(__name__)

#: Seconds a client is asked to wait after a 503.
RETRY_AFTER = 30


class HTTPError(falcon.HTTPError):
    """Base of the API's errors: a fixed status and title per subclass."""

    status = falcon.HTTP_500
    title = 'Internal server error'

    def __init__(self, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(self.status, title=self.title,
                         description=description, headers=headers)


class BadRequest(HTTPError):
    status = falcon.HTTP_400
    title = 'Invalid request'


class Unauthorized(HTTPError):
    status = falcon.HTTP_401
    title = 'Authentication required'


class Forbidden(HTTPError):
    status = falcon.HTTP_403
    title = 'Forbidden'


class NotFound(HTTPError):
    status = falcon.HTTP_404
    title = 'Not found'


class NotAcceptable(HTTPError):
    status = falcon.HTTP_406
    title = 'Not acceptable'


class Conflict(HTTPError):
    status = falcon.HTTP_409
    title = 'Conflict'


class PayloadTooLarge(HTTPError):
    status = falcon.HTTP_413
    title = 'Request body too large'


class UnsupportedMediaType(HTTPError):
    status = falcon.HTTP_415
    title = 'Unsupported media type'


class QuotaExceeded(HTTPError):
    """A project quota would be exceeded (Zaqar has no quotas; 403 is what
    OpenStack services answer for them, e.g. Nova)."""

    status = falcon.HTTP_403
    title = 'Quota exceeded'


class ServiceUnavailable(HTTPError):
    status = falcon.HTTP_503
    title = 'Service temporarily unavailable'

    def __init__(self, description: str) -> None:
        super().__init__(description,
                         headers={'Retry-After': str(RETRY_AFTER)})


# Storage error class -> (HTTP error class, description). Looked up along the
# exception's MRO, so the most specific entry wins.
_STORAGE_ERRORS: dict[type, tuple[type[HTTPError], str]] = {
    storage_errors.QueueNotFound: (NotFound, 'The queue does not exist.'),
    storage_errors.MessageNotFound: (
        NotFound, 'The message does not exist or has expired.'),
    storage_errors.ClaimNotFound: (
        NotFound, 'The claim does not exist or has expired.'),
    storage_errors.NotFound: (NotFound, 'The resource does not exist.'),
    storage_errors.NoPoolForFlavor: (
        BadRequest, 'The flavor named by the queue\'s "_flavor" metadata '
                    'does not exist or has no pool taking new queues.'),
    storage_errors.DeadLetterQueueElsewhere: (
        Conflict, 'The queue named by "_dead_letter_queue" lives on another '
                  'storage pool; a queue and its dead letter queue must '
                  'share one.'),
    storage_errors.Conflict: (
        Conflict, 'The request conflicts with the current state.'),
    storage_errors.MessageIsClaimed: (
        Forbidden, 'This message is claimed; it cannot be deleted without '
                   'a valid claim ID.'),
    storage_errors.ClaimMismatch: (
        Forbidden, 'The claim ID given does not hold this message: the '
                   'message is not claimed, its claim expired, or another '
                   'claim holds it.'),
    storage_errors.Forbidden: (
        Forbidden, 'The message cannot be changed in its current state.'),
    storage_errors.Invalid: (
        BadRequest, 'The message store cannot hold these values (a name or '
                    'value is too long, or has characters it cannot '
                    'store).'),
    storage_errors.Unavailable: (
        ServiceUnavailable, 'The message store is unavailable; retry later.'),
    storage_errors.KeyUnavailable: (
        ServiceUnavailable, 'The messages of this queue are encrypted at '
                            'rest with a key this server does not have '
                            'configured; the operator must add it.'),
}

#: QuotaExceeded.resource -> how its description names it.
_QUOTA_NOUNS = {'queues': 'queues in this project',
                'messages in queue': 'unexpired messages in this queue',
                'subscriptions': 'subscriptions in this project'}


def http_error_for(exc: storage_errors.StorageError) -> HTTPError:
    """The HTTP error a storage error becomes (500 for unknown branches)."""
    if isinstance(exc, storage_errors.QuotaExceeded):
        return QuotaExceeded('Quota exceeded: at most %d %s; nothing was '
                             'stored.' % (exc.limit, _QUOTA_NOUNS.get(
                                 exc.resource, exc.resource)))
    for cls in type(exc).__mro__:
        entry = _STORAGE_ERRORS.get(cls)
        if entry is not None:
            http_cls, description = entry
            return http_cls(description)
    return HTTPError('The server could not complete the request.')


def _storage_error(req: falcon.Request, resp: falcon.Response,
                   exc: storage_errors.StorageError, params: Any) -> None:
    error = http_error_for(exc)
    kind = getattr(req.context, 'kind', None)
    if isinstance(exc, storage_errors.QueueNotFound) and kind is not None:
        error = NotFound('The %s does not exist.' % kind.noun)
    if isinstance(exc, storage_errors.KeyUnavailable):
        LOG.error('Encryption key problem for %s %s: %s',
                  req.method, req.path, exc)
    elif isinstance(error, ServiceUnavailable):
        LOG.warning('Storage unavailable for %s %s: %s',
                    req.method, req.path, exc)
    elif type(error) is HTTPError:
        LOG.error('Unmapped storage error for %s %s: %r',
                  req.method, req.path, exc)
    raise error


def _validation_error(req: falcon.Request, resp: falcon.Response,
                      exc: validation.ValidationError, params: Any) -> None:
    raise BadRequest(str(exc))


def _unexpected_error(req: falcon.Request, resp: falcon.Response,
                      exc: Exception, params: Any) -> None:
    LOG.exception('Unexpected error for %s %s', req.method, req.path)
    raise HTTPError('The server could not complete the request.')


def _serialize(req: falcon.Request, resp: falcon.Response,
               exc: falcon.HTTPError) -> None:
    body = {'title': exc.title or '',
            'description': exc.description or exc.title or ''}
    resp.text = json.dumps(body)
    resp.content_type = falcon.MEDIA_JSON


def install(app: falcon.App) -> None:
    """Register the error mapping and the JSON error serializer."""
    app.add_error_handler(Exception, _unexpected_error)
    app.add_error_handler(storage_errors.StorageError, _storage_error)
    app.add_error_handler(validation.ValidationError, _validation_error)
    app.set_error_serializer(_serialize)
