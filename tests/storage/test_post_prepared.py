"""Storage.post_prepared: a post is prepared from its queue's metadata,
and (SQL driver) from the metadata the queue holds when the post commits,
even when another process changed it since this process last looked."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.storage import base, models
from bridge.storage.sql import SqlStorage

from .conftest import backend_url, make_conf
from .support import new

SQL_BACKENDS = ['sqlite', 'postgresql', 'mariadb']


class Refused(Exception):
    pass


class Preparer:
    """Messages whose ttl is the queue's ``ttl`` metadata (else 3600);
    refuses when the metadata holds ``closed``, or a ``max`` smaller than
    the number of messages. Records what it saw."""

    def __init__(self, *bodies: Any) -> None:
        self.bodies = bodies
        self.seen: list[dict[str, Any]] = []

    def __call__(self, metadata: dict[str, Any]) -> list[models.NewMessage]:
        self.seen.append(metadata)
        if metadata.get('closed'):
            raise Refused()
        if len(self.bodies) > metadata.get('max', len(self.bodies)):
            raise Refused()
        return [new(body, ttl=metadata.get('ttl', 3600))
                for body in self.bodies]


def ttls(storage: base.Storage, project: str, queue: str) -> dict[Any, int]:
    page = storage.list_messages(project, queue, echo=True, limit=20)
    return {m.body: m.ttl for m in page.messages}


def test_post_prepared_obeys_the_queue_metadata(storage, project):
    storage.create_queue(project, 'q', {'ttl': 120})
    ids = storage.post_prepared(project, 'q', Preparer('a', 'b'))
    assert len(ids) == 2
    assert ttls(storage, project, 'q') == {'a': 120, 'b': 120}


def test_post_prepared_to_a_missing_queue_sees_no_metadata_and_creates_it(
        storage, project):
    prepare = Preparer('a')
    storage.post_prepared(project, 'new', prepare, client_id='c')
    assert prepare.seen[-1] == {}
    assert storage.get_queue(project, 'new') == {}
    assert ttls(storage, project, 'new') == {'a': 3600}


def test_a_refused_post_raises_and_stores_nothing(storage, project):
    storage.create_queue(project, 'q', {'closed': True})
    with pytest.raises(Refused):
        storage.post_prepared(project, 'q', Preparer('a'))
    assert ttls(storage, project, 'q') == {}


@pytest.fixture(params=SQL_BACKENDS)
def two_processes(request, tmp_path, project):
    """Two SqlStorage instances on one database, as two API workers have
    (each with its own connections and remembered metadata)."""
    url = backend_url(request.param, str(tmp_path))
    first = SqlStorage(url, make_conf().storage)
    first.ensure_schema()
    second = SqlStorage(url, make_conf().storage)
    yield first, second
    first.close()
    second.close()


def test_a_post_obeys_metadata_changed_by_another_process(two_processes,
                                                          project):
    first, second = two_processes
    first.post_prepared(project, 'q', Preparer('before'))
    second.set_queue_metadata(project, 'q', {'ttl': 120})
    first.post_prepared(project, 'q', Preparer('after'))
    assert ttls(first, project, 'q') == {'before': 3600, 'after': 120}


def test_a_post_is_refused_by_metadata_changed_by_another_process(
        two_processes, project):
    first, second = two_processes
    first.post_prepared(project, 'q', Preparer('before'))
    second.set_queue_metadata(project, 'q', {'closed': True})
    with pytest.raises(Refused):
        first.post_prepared(project, 'q', Preparer('refused'))
    assert ttls(first, project, 'q') == {'before': 3600}


def test_a_post_is_not_refused_by_metadata_another_process_lifted(
        two_processes, project):
    first, second = two_processes
    second.create_queue(project, 'q', {'max': 1})
    first.post_prepared(project, 'q', Preparer('one'))
    second.set_queue_metadata(project, 'q', {'max': 2, 'ttl': 120})
    first.post_prepared(project, 'q', Preparer('two', 'three'))
    assert ttls(first, project, 'q') == {'one': 3600, 'two': 120,
                                         'three': 120}


def test_a_post_to_a_queue_deleted_and_recreated_obeys_the_new_metadata(
        two_processes, project):
    first, second = two_processes
    second.create_queue(project, 'q', {'ttl': 120})
    first.post_prepared(project, 'q', Preparer('old'))
    second.delete_queue(project, 'q')
    first.post_prepared(project, 'q', Preparer('new'))
    assert ttls(first, project, 'q') == {'new': 3600}
