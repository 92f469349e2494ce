"""The storage error tree. The API maps each branch to one HTTP status in
``bridge/api/errors.py``; listeners requeue on :class:`Unavailable`."""


class StorageError(Exception):
    """Base of every error a storage driver raises on purpose."""


class NotFound(StorageError):
    """The named queue, message or claim does not exist (or has expired)."""


class QueueNotFound(NotFound):
    pass


class MessageNotFound(NotFound):
    pass


class ClaimNotFound(NotFound):
    pass


class Conflict(StorageError):
    """The write contradicts state that already exists."""


class Forbidden(StorageError):
    """The caller may not do this to the message in its current state."""


class MessageIsClaimed(Forbidden):
    """The message is claimed and the caller did not give that claim's id."""


class ClaimMismatch(Forbidden):
    """The caller gave a claim id that is not the message's current claim
    (the message is unclaimed, its claim expired, or another claim holds it)."""


class Invalid(StorageError):
    """The backend refused the values themselves (too long for a column,
    an encoding it cannot store). Retrying the same write cannot succeed."""


class Unavailable(StorageError):
    """The backend cannot be reached or did not answer in time. Callers may
    retry; nothing was written."""


class PoolNotFound(NotFound):
    """No pool of that name is registered."""


class FlavorNotFound(NotFound):
    """No flavor of that name is registered."""


class NoPoolForFlavor(Invalid):
    """A queue asked (``_flavor``) for a flavor that does not exist or has
    no pool taking new queues (weight above 0)."""


class DeadLetterQueueElsewhere(Conflict):
    """A queue names a ``_dead_letter_queue`` that lives on another pool:
    dead letters move inside one backend, so the two must share a pool."""
class QuotaExceeded(StorageError):
    """The write would take the project beyond one of its quotas; nothing
    was written."""

    def __init__(self, resource: str, limit: int) -> None:
        super().__init__('quota exceeded: at most %d %s' % (limit, resource))
        self.resource = resource
        self.limit = limit


class KeyUnavailable(StorageError):
    """A message body must be sealed or opened with an encryption key that
    is not configured (or does not match). Nothing was written."""
