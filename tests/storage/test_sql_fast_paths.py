"""The SQL driver's one-statement posts and claims (bridge.storage.sql.
guarded) fall back to the general path whenever their shortcut is not
available, without failing a call."""

from __future__ import annotations

import pytest

from bridge.storage import models
from bridge.storage.sql import SqlStorage, sqlite_writes

from .conftest import backend_url, make_conf


def _prepare(metadata: dict) -> list[models.NewMessage]:
    return [models.NewMessage(body=n, ttl=metadata.get('ttl', 3600))
            for n in range(3)]


def _lifecycle(storage: SqlStorage, project: str) -> None:
    """Post, claim and delete, twice (the second time with the queue's
    metadata remembered)."""
    for _ in range(2):
        storage.post_prepared(project, 'q', _prepare)
        claim = storage.create_claim(project, 'q', ttl=60, grace=60,
                                     limit=3)
        assert claim is not None and len(claim.messages) == 3
        for message in claim.messages:
            storage.delete_message(project, 'q', message.id, claim.id)
    assert storage.queue_stats(project, 'q').free == 0


@pytest.fixture
def own_storage(request, tmp_path):
    storage = SqlStorage(backend_url(request.param, str(tmp_path)),
                         make_conf().storage)
    storage.ensure_schema()
    yield storage
    storage.close()


@pytest.mark.parametrize('own_storage', ['postgresql'], indirect=True)
def test_calls_survive_sessions_that_lost_their_prepared_statements(
        own_storage, project):
    """As when a pooling proxy switches server sessions under bridge."""
    _lifecycle(own_storage, project)
    pool = own_storage._tx._pool
    conn = pool.get()  # the connection the calls above used
    assert conn.prepared, 'nothing was prepared: the test tests nothing'
    with conn.dbapi.cursor() as cursor:
        cursor.execute('DEALLOCATE ALL')
    pool.put(conn)
    _lifecycle(own_storage, project)


@pytest.mark.parametrize('own_storage', ['sqlite'], indirect=True)
def test_a_sqlite_database_without_the_post_view_still_works(own_storage,
                                                            project):
    """A database an older bridge created, not yet through ensure_schema."""
    own_storage._tx.write(lambda conn: conn.exec_driver_sql(
        'DROP VIEW %s' % sqlite_writes.POST_VIEW))
    _lifecycle(own_storage, project)
    own_storage.ensure_schema()
    _lifecycle(own_storage, project)
