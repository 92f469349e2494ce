"""python-zaqarclient, unchanged, drives a running bridge-api through a whole
queue lifecycle: create queue, set metadata, post, list, claim, update claim,
delete with claim, release, stats, delete queue."""

from __future__ import annotations

import uuid

import pytest
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.queues.v2 import core
from zaqarclient.transport import errors as zaqar_errors

from .server import BridgeAPI


def make_client(api: BridgeAPI, project: str) -> zaqar_client.Client:
    return zaqar_client.Client(api.url, version=2, conf={
        'auth_opts': {'backend': 'noauth', 'options': {'os_project_id': project}},
    })


def queue_names(client: zaqar_client.Client) -> list[str]:
    queues, _count = client.queues()
    return [queue.name for queue in queues]


def delete_message_without_claim(client: zaqar_client.Client, queue: str,
                                 message_id: str) -> None:
    req, trans = client._request_and_transport()
    core.message_delete(trans, req, queue, message_id, claim_id=None)


def bodies(messages) -> list:
    return [message.body for message in messages]


def test_zaqarclient_runs_a_full_queue_lifecycle(noauth_api: BridgeAPI) -> None:
    project = 'lifecycle-' + uuid.uuid4().hex[:8]
    client = make_client(noauth_api, project)
    other_project = make_client(noauth_api, project + '-other')

    # Create the queue.
    queue = client.queue('jobs', force_create=True)
    assert 'jobs' in queue_names(client)
    assert 'jobs' not in queue_names(other_project)

    # Set metadata: a plain key and a reserved one, read back from the server.
    queue.metadata(new_meta={'color': 'blue', '_default_message_ttl': 600})
    metadata = queue.metadata(force_reload=True)
    assert metadata['color'] == 'blue'
    assert metadata['_default_message_ttl'] == 600

    # Post three messages in one batch; the third takes the queue's ttl.
    posted = queue.post([{'body': {'n': 0}, 'ttl': 300},
                         {'body': {'n': 1}, 'ttl': 300},
                         {'body': {'n': 2}}])
    assert len(posted['resources']) == 3
    assert all(href.startswith('/v2/queues/jobs/messages/') for href in posted['resources'])

    # List: in posting order, with the ttls that were asked for.
    listed = list(queue.messages(echo=True))
    assert bodies(listed) == [{'n': 0}, {'n': 1}, {'n': 2}]
    assert [message.ttl for message in listed] == [300, 300, 600]
    assert [message.id for message in listed] == [
        href.rsplit('/', 1)[1] for href in posted['resources']]

    # Claim two: the oldest two, each carrying the claim's id.
    claim = queue.claim(ttl=120, grace=60, limit=2)
    claimed = list(claim)
    assert bodies(claimed) == [{'n': 0}, {'n': 1}]
    assert {message.claim_id for message in claimed} == {claim.id}
    assert queue.claim(id=claim.id).ttl == 120

    # A second claimer gets only the unclaimed message.
    assert bodies(queue.claim(ttl=60, grace=60, limit=5)) == [{'n': 2}]

    # Update the claim: the server reports the new ttl.
    claim.update(ttl=300, grace=60)
    assert queue.claim(id=claim.id).ttl == 300

    # Delete a claimed message: refused without the claim id, done with it.
    first, second = claimed
    assert queue.message(first.id).claim_id == claim.id
    with pytest.raises(zaqar_errors.ForbiddenError):
        delete_message_without_claim(client, 'jobs', first.id)
    first.delete()
    with pytest.raises(zaqar_errors.ResourceNotFound):
        queue.message(first.id)

    stats = queue.stats['messages']
    assert (stats['total'], stats['claimed'], stats['free']) == (2, 2, 0)

    # Release the claim: its remaining message can be claimed again.
    claim.delete()
    stats = queue.stats['messages']
    assert (stats['total'], stats['claimed'], stats['free']) == (2, 1, 1)
    reclaimed = queue.claim(ttl=60, grace=60, limit=5)
    assert [message.id for message in reclaimed] == [second.id]

    # Delete the queue: it is gone, and so are its messages: a new queue of
    # the same name starts empty.
    queue.delete()
    assert 'jobs' not in queue_names(client)
    again = client.queue('jobs', force_create=True)
    assert list(again.messages(echo=True, include_claimed=True)) == []
    again.delete()
