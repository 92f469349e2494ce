"""Namespaces of queues: Zaqar's queues and topics share one storage.

A topic is a queue in another namespace of its project: it holds messages,
has metadata and subscriptions, and the notifier fans its messages out to
every subscriber exactly as it does for a queue. Storage keys every queue by
(owner, name); the *owner* of a queue is its project, and the owner of a
topic is ``<project>/topics``. So the storage interface and every driver
serve topics unchanged: a topic and a queue of the same name never meet,
and listing a project's queues never shows its topics.

Project ids may not contain :data:`SEPARATOR` (the API refuses them), so no
project's queues can be another project's topics.
"""

from __future__ import annotations

#: Between a project id and the namespace in an owner.
SEPARATOR = '/'
QUEUES = 'queues'
TOPICS = 'topics'
NAMESPACES = (QUEUES, TOPICS)
#: Longest owner any driver stores (the SQL ``project`` column).
MAX_OWNER = 256


def owner(project: str, namespace: str = QUEUES) -> str:
    """The storage owner of the project's queues or topics. ValueError if
    the project id cannot be used in that namespace."""
    if SEPARATOR in project:
        raise ValueError('Project ids may not contain "%s".' % SEPARATOR)
    if namespace not in NAMESPACES:
        raise ValueError('Unknown namespace %r.' % namespace)
    if namespace == QUEUES:
        return project
    scoped = project + SEPARATOR + namespace
    if len(scoped) > MAX_OWNER:
        raise ValueError('Project ids used with %s may not be more than %d '
                         'characters long.'
                         % (namespace, MAX_OWNER - len(namespace) - 1))
    return scoped


def split(stored_owner: str) -> tuple[str, str]:
    """(project, namespace) of a storage owner; the inverse of
    :func:`owner`."""
    project, sep, namespace = stored_owner.partition(SEPARATOR)
    return project, (namespace if sep else QUEUES)


def path(stored_owner: str, name: str) -> str:
    """The API path of the queue or topic ``name`` of ``stored_owner``."""
    return '/v2/%s/%s' % (split(stored_owner)[1], name)
