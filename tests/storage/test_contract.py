"""The storage contract: every guarantee of bridge.storage.base, checked
against every backend (see conftest.py). A driver is done when this suite
passes on it unchanged."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.storage import errors, models
from .support import (
    TTL, bodies, claim_all, new, post, post_numbers, run_threads)

#: Seconds of the short ttls, delays and windows that tests wait out: long
#: enough that a post and the next call fit in it on a loaded machine.
SHORT = 2

# -- queues ----------------------------------------------------------------

def test_create_queue_reports_new_queues_and_keeps_first_metadata(
        storage, project):
    assert storage.create_queue(project, 'q', {'a': 1}) is True
    assert storage.create_queue(project, 'q', {'a': 2}) is False
    assert storage.get_queue(project, 'q') == {'a': 1}


def test_get_queue_of_missing_queue_raises_queue_not_found(storage, project):
    with pytest.raises(errors.QueueNotFound):
        storage.get_queue(project, 'missing')


def test_set_queue_metadata_replaces_the_whole_document(storage, project):
    storage.create_queue(project, 'q', {'a': 1, 'b': 2})
    storage.set_queue_metadata(project, 'q', {'c': [1, 'x'], '_ttl': None})
    assert storage.get_queue(project, 'q') == {'c': [1, 'x'], '_ttl': None}
    with pytest.raises(errors.QueueNotFound):
        storage.set_queue_metadata(project, 'missing', {})


def test_posting_to_a_missing_queue_creates_it_with_empty_metadata(
        storage, project):
    post(storage, project, 'lazy', ['hello'])
    assert storage.get_queue(project, 'lazy') == {}
    assert storage.create_queue(project, 'lazy', {'a': 1}) is False


def test_list_queues_is_sorted_by_name_and_paged_by_marker_and_limit(
        storage, project):
    names = ['b-2', 'a_1', 'C3', 'a-1', 'b.1']
    for number, name in enumerate(names):
        storage.create_queue(project, name, {'n': number})
    expected = sorted(names)  # code point order: upper case first
    first = storage.list_queues(project, limit=2)
    assert [name for name, _ in first] == expected[:2]
    rest = storage.list_queues(project, marker=first[-1][0], limit=10)
    assert [name for name, _ in rest] == expected[2:]
    assert dict(first + rest) == {name: {'n': n}
                                  for n, name in enumerate(names)}
    assert storage.list_queues(project, marker=expected[-1]) == []


def test_list_and_count_queues_filter_by_name_substring(storage, project):
    for name in ('alpha', 'beta', 'alphabet', 'ALPHA2', 'gamma'):
        storage.create_queue(project, name, {})
    assert [n for n, _ in storage.list_queues(project, name='alpha')] == [
        'alpha', 'alphabet']
    assert storage.count_queues(project, name='alpha') == 2
    assert storage.count_queues(project, name='a_') == 0
    assert storage.count_queues(project) == 5


def test_delete_queue_removes_messages_and_claims_and_is_idempotent(
        storage, project):
    post(storage, project, 'q', ['a', 'b'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    storage.delete_queue(project, 'q')
    storage.delete_queue(project, 'q')
    assert storage.list_queues(project) == []
    with pytest.raises(errors.QueueNotFound):
        storage.get_queue(project, 'q')
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(project, 'q', claim.id)
    # A queue created again under the same name starts empty.
    storage.create_queue(project, 'q', {})
    assert storage.list_messages(project, 'q',
                                 include_claimed=True).messages == []


def test_stats_count_free_claimed_and_delayed_messages(storage, project):
    post(storage, project, 'q', ['a', 'b', 'c'])
    storage.post_messages(project, 'q', [new('later', delay=600)])
    storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    stats = storage.queue_stats(project, 'q')
    assert (stats.free, stats.claimed, stats.delayed) == (2, 1, 1)
    assert stats.total == 4
    assert stats.oldest.body == 'a'
    assert stats.newest.body == 'c'
    assert stats.oldest.created <= stats.newest.created


def test_stats_of_a_missing_queue_are_zero(storage, project):
    stats = storage.queue_stats(project, 'missing')
    assert (stats.free, stats.claimed, stats.delayed) == (0, 0, 0)
    assert stats.oldest is None and stats.newest is None


def test_purge_deletes_messages_and_claims_but_keeps_the_queue(
        storage, project):
    storage.create_queue(project, 'q', {'keep': True})
    post(storage, project, 'q', ['a', 'b'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    storage.purge_queue(project, 'q')
    assert storage.get_queue(project, 'q') == {'keep': True}
    assert storage.queue_stats(project, 'q').total == 0
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(project, 'q', claim.id)


# -- posting and reading ---------------------------------------------------

def test_post_returns_ids_in_input_order_and_stores_any_json_body(
        storage, project):
    values = [{'k': [1, 2.5, None]}, [True, False], 'text é ☃', 7, None]
    ids = storage.post_messages(project, 'q', [new(v) for v in values],
                                client_id='poster')
    assert len(set(ids)) == len(values)
    got = storage.get_messages(project, 'q', ids)
    assert [m.id for m in got] == ids
    assert [m.body for m in got] == values
    assert all(m.ttl == TTL and m.client_id == 'poster' for m in got)
    assert all(m.claim_id is None and m.claim_count == 0 for m in got)
    assert all(abs(m.created - time.time()) < 60 for m in got)


def test_markers_grow_in_post_order_across_batches(storage, project):
    post_numbers(storage, project, 'q', range(0, 3))
    post_numbers(storage, project, 'q', range(3, 5))
    page = storage.list_messages(project, 'q', limit=10)
    assert bodies(page) == [0, 1, 2, 3, 4]
    markers = [m.marker for m in page.messages]
    assert markers == sorted(markers) and len(set(markers)) == 5


def test_paging_with_next_marker_returns_every_message_once_in_order(
        storage, project):
    post_numbers(storage, project, 'q', range(23))
    seen, marker = [], None
    while True:
        page = storage.list_messages(project, 'q', marker=marker, limit=5)
        if not page.messages:
            assert page.next_marker is None
            break
        assert len(page.messages) <= 5
        seen.extend(bodies(page))
        marker = page.next_marker
    assert seen == list(range(23))


def test_an_unparseable_marker_is_treated_as_no_marker(storage, project):
    post_numbers(storage, project, 'q', range(3))
    page = storage.list_messages(project, 'q', marker='not-a-marker')
    assert bodies(page) == [0, 1, 2]


def test_out_of_range_markers_and_limits_are_harmless(storage, project):
    post_numbers(storage, project, 'q', range(3))
    assert storage.list_messages(project, 'q', marker='9' * 30).messages == []
    assert bodies(storage.list_messages(project, 'q', marker='-5')) == [
        0, 1, 2]
    assert bodies(storage.list_messages(project, 'q', limit=10 ** 12)) == [
        0, 1, 2]
    assert storage.list_messages(project, 'q', limit=0).messages == []
    assert len(storage.list_queues(project, limit=10 ** 12)) == 1
    claim = storage.create_claim(project, 'q', ttl=60, grace=60,
                                 limit=10 ** 12)
    assert len(claim.messages) == 3


def test_listing_a_missing_queue_gives_an_empty_page(storage, project):
    page = storage.list_messages(project, 'missing')
    assert page.messages == [] and page.next_marker is None


def test_list_leaves_out_the_callers_own_messages_unless_echo(
        storage, project):
    storage.post_messages(project, 'q', [new('mine')], client_id='me')
    storage.post_messages(project, 'q', [new('theirs')], client_id='you')
    storage.post_messages(project, 'q', [new('anonymous')])
    assert bodies(storage.list_messages(project, 'q', client_id='me')) == [
        'theirs', 'anonymous']
    assert bodies(storage.list_messages(project, 'q', client_id='me',
                                        echo=True)) == [
        'mine', 'theirs', 'anonymous']
    assert len(storage.list_messages(project, 'q').messages) == 3


def test_list_leaves_out_claimed_messages_unless_include_claimed(
        storage, project):
    post(storage, project, 'q', ['a', 'b', 'c'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=2)
    assert bodies(storage.list_messages(project, 'q')) == ['c']
    page = storage.list_messages(project, 'q', include_claimed=True)
    assert bodies(page) == ['a', 'b', 'c']
    assert [m.claim_id for m in page.messages] == [claim.id, claim.id, None]


def test_get_messages_returns_known_ids_in_request_order_whatever_state(
        storage, project):
    ids = post(storage, project, 'q', ['a', 'b'])
    [delayed] = storage.post_messages(project, 'q', [new('d', delay=600)])
    storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    got = storage.get_messages(project, 'q',
                               [delayed, 'unknown-id', ids[1], ids[0]])
    assert [m.body for m in got] == ['d', 'b', 'a']
    assert got[2].claim_id is not None
    assert storage.get_messages(project, 'other', ids) == []


def test_delayed_messages_stay_hidden_until_their_delay_passes(
        storage, project):
    [delayed] = storage.post_messages(project, 'q',
                                      [new('late', delay=SHORT)])
    post(storage, project, 'q', ['now'])
    assert bodies(storage.list_messages(project, 'q')) == ['now']
    assert bodies(storage.list_messages(project, 'q',
                                        include_delayed=True)) == [
        'late', 'now']
    assert storage.create_claim(project, 'q', ttl=60, grace=60,
                                limit=5).messages[0].body == 'now'
    assert storage.pop_messages(project, 'q', 5) == []
    time.sleep(SHORT + 0.3)
    assert bodies(storage.list_messages(project, 'q')) == ['late']
    assert storage.queue_stats(project, 'q').delayed == 0
    assert [m.id for m in storage.pop_messages(project, 'q', 5)] == [delayed]


def test_expired_messages_are_never_returned_counted_or_claimed(
        storage, project):
    short = post(storage, project, 'q', ['gone-1', 'gone-2'], ttl=SHORT)
    post(storage, project, 'q', ['kept'])
    assert storage.queue_stats(project, 'q').free == 3
    time.sleep(SHORT + 0.3)
    assert bodies(storage.list_messages(project, 'q',
                                        include_claimed=True,
                                        include_delayed=True)) == ['kept']
    assert storage.get_messages(project, 'q', short) == []
    stats = storage.queue_stats(project, 'q')
    assert (stats.total, stats.oldest.body) == (1, 'kept')
    storage.delete_message(project, 'q', short[0])  # a no-op, no error
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert [m.body for m in claim.messages] == ['kept']
    assert storage.pop_messages(project, 'q', 5) == []


def test_sweep_deletes_messages_expired_at_the_given_time(storage, project):
    post(storage, project, 'q', ['short-1', 'short-2'], ttl=2)
    post(storage, project, 'q', ['long'])
    removed = storage.sweep(now=time.time() + 30)
    assert removed >= 2
    # Swept for good: gone although their ttl has not run out yet.
    assert bodies(storage.list_messages(project, 'q')) == ['long']
    storage.sweep()  # with the clock's time: nothing of ours expired


def test_readers_paging_during_concurrent_posts_never_skip_a_message(
        storage, project, scale):
    """Posts from several threads commit in any order; a reader that pages
    with next_marker (keeping its marker on an empty page) must still see
    every message exactly once, in marker order."""
    done = threading.Event()
    seen: list[models.Message] = []

    def write(writer: int) -> None:
        for n in range(scale.posts_per_writer):
            size = 1 + n % 3
            post(storage, project, 'q',
                 ['%d-%d-%d' % (writer, n, i) for i in range(size)])

    def read() -> None:
        marker = None
        while True:
            finished = done.is_set()
            page = storage.list_messages(project, 'q', marker=marker,
                                         limit=7)
            seen.extend(page.messages)
            if page.next_marker is not None:
                marker = page.next_marker
            elif finished:
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        run_threads(scale.writers, write)
    finally:
        done.set()
        reader.join(60)
    expected = {'%d-%d-%d' % (w, n, i) for w in range(scale.writers)
                for n in range(scale.posts_per_writer)
                for i in range(1 + n % 3)}
    assert sorted(m.body for m in seen) == sorted(expected)
    markers = [m.marker for m in seen]
    assert markers == sorted(markers)


# -- deleting --------------------------------------------------------------

def test_delete_message_removes_it_and_ignores_unknown_ids(storage, project):
    ids = post(storage, project, 'q', ['a', 'b'])
    storage.delete_message(project, 'q', ids[0])
    storage.delete_message(project, 'q', ids[0])
    storage.delete_message(project, 'q', 'unknown-id')
    storage.delete_message(project, 'missing-queue', ids[1])
    assert bodies(storage.list_messages(project, 'q')) == ['b']


def test_deleting_a_claimed_message_needs_its_claim_id(storage, project):
    post(storage, project, 'q', ['a', 'b'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    other = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    message_id = claim.messages[0].id
    with pytest.raises(errors.MessageIsClaimed):
        storage.delete_message(project, 'q', message_id)
    with pytest.raises(errors.ClaimMismatch):
        storage.delete_message(project, 'q', message_id, claim_id=other.id)
    with pytest.raises(errors.ClaimMismatch):
        storage.delete_message(project, 'q', message_id,
                               claim_id='no-such-claim')
    assert len(storage.get_messages(project, 'q', [message_id])) == 1
    storage.delete_message(project, 'q', message_id, claim_id=claim.id)
    assert storage.get_messages(project, 'q', [message_id]) == []


def test_deleting_an_unclaimed_message_with_a_claim_id_is_a_mismatch(
        storage, project):
    [message_id] = post(storage, project, 'q', ['a'])
    with pytest.raises(errors.ClaimMismatch):
        storage.delete_message(project, 'q', message_id, claim_id='c')
    assert len(storage.get_messages(project, 'q', [message_id])) == 1


def test_bulk_delete_is_all_or_nothing(storage, project):
    ids = post(storage, project, 'q', ['a', 'b', 'c'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    assert claim.messages[0].id == ids[0]
    with pytest.raises(errors.MessageIsClaimed):
        storage.delete_messages(project, 'q', ids)
    assert len(storage.get_messages(project, 'q', ids)) == 3
    storage.delete_messages(project, 'q', ids[1:] + ['unknown-id'])
    assert [m.id for m in storage.get_messages(project, 'q', ids)] == ids[:1]


def test_bulk_delete_takes_claimed_messages_when_given_their_claims(
        storage, project):
    ids = post(storage, project, 'q', ['a', 'b', 'c'])
    first = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    second = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    with pytest.raises(errors.MessageIsClaimed):
        storage.delete_messages(project, 'q', ids, claim_ids=[first.id])
    storage.delete_messages(project, 'q', ids,
                            claim_ids=[first.id, second.id])
    assert storage.get_messages(project, 'q', ids) == []


def test_pop_removes_and_returns_the_oldest_unclaimed_messages(
        storage, project):
    post(storage, project, 'q', ['a', 'b', 'c', 'd'])
    storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    popped = storage.pop_messages(project, 'q', 2)
    assert [m.body for m in popped] == ['b', 'c']
    assert all(m.claim_id is None for m in popped)
    assert bodies(storage.list_messages(project, 'q',
                                        include_claimed=True)) == ['a', 'd']
    assert storage.pop_messages(project, 'missing', 2) == []


def test_concurrent_pops_never_return_the_same_message(storage, project,
                                                       scale):
    ids = post_numbers(storage, project, 'q', range(scale.pop_messages))
    popped: list[list[str]] = [[] for _ in range(4)]

    def pop(worker: int) -> None:
        while True:
            got = storage.pop_messages(project, 'q', 5)
            if not got:
                return
            popped[worker].extend(m.id for m in got)

    run_threads(4, pop)
    everything = [i for ids_ in popped for i in ids_]
    assert len(everything) == len(set(everything))
    assert set(everything) == set(ids)


# -- claims ----------------------------------------------------------------

def test_claim_takes_the_oldest_visible_unclaimed_messages(storage, project):
    post(storage, project, 'q', ['a', 'b', 'c'])
    before = time.time()
    claim = storage.create_claim(project, 'q', ttl=120, grace=30, limit=2)
    assert [m.body for m in claim.messages] == ['a', 'b']
    assert all(m.claim_id == claim.id and m.claim_count == 1
               for m in claim.messages)
    assert (claim.ttl, claim.grace) == (120, 30)
    assert before - 1 <= claim.updated <= time.time() + 1
    fetched = storage.get_claim(project, 'q', claim.id)
    assert (fetched.id, fetched.ttl, fetched.grace) == (claim.id, 120, 30)
    assert [m.body for m in fetched.messages] == ['a', 'b']
    assert abs(fetched.updated - claim.updated) < 1


def test_claim_returns_none_when_nothing_is_claimable(storage, project):
    assert storage.create_claim(project, 'missing', ttl=60, grace=60,
                                limit=5) is None
    post(storage, project, 'q', ['a'])
    assert storage.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert storage.create_claim(project, 'q', ttl=60, grace=60,
                                limit=5) is None


def test_claimed_messages_are_not_claimed_again_until_released(
        storage, project):
    post(storage, project, 'q', ['a', 'b'])
    first = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    second = storage.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert [m.body for m in second.messages] == ['b']
    storage.delete_claim(project, 'q', first.id)
    storage.delete_claim(project, 'q', first.id)  # idempotent
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(project, 'q', first.id)
    again = storage.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert [m.body for m in again.messages] == ['a']
    assert again.messages[0].claim_count == 2


def test_concurrent_claimers_each_get_distinct_messages(storage, project,
                                                        scale):
    """Exactly one claimer: many threads claim at the same instant and
    every message ends up in exactly one claim."""
    ids = post_numbers(storage, project, 'q', range(scale.claim_messages))
    claimed = claim_all(storage, project, 'q', scale.claim_threads, limit=5)
    assert len(claimed) == len(set(claimed)), 'a message was claimed twice'
    assert set(claimed) == set(ids)
    assert storage.create_claim(project, 'q', ttl=60, grace=60,
                                limit=5) is None
    assert storage.queue_stats(project, 'q').claimed == len(ids)


def test_update_claim_renews_it_and_unknown_claims_are_not_found(
        storage, project):
    post(storage, project, 'q', ['a'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    storage.update_claim(project, 'q', claim.id, ttl=300, grace=100)
    renewed = storage.get_claim(project, 'q', claim.id)
    assert (renewed.ttl, renewed.grace) == (300, 100)
    assert renewed.updated >= claim.updated
    with pytest.raises(errors.ClaimNotFound):
        storage.update_claim(project, 'q', 'no-such-claim', ttl=60,
                             grace=60)
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(project, 'q', 'no-such-claim')


def test_renewing_a_claim_keeps_its_messages_past_the_old_expiry(
        storage, project):
    post(storage, project, 'q', ['a'], ttl=SHORT)
    claim = storage.create_claim(project, 'q', ttl=SHORT, grace=0, limit=1)
    storage.update_claim(project, 'q', claim.id, ttl=4 * SHORT,
                         grace=4 * SHORT)
    time.sleep(SHORT + 0.3)
    held = storage.get_claim(project, 'q', claim.id)
    assert [m.body for m in held.messages] == ['a']


def test_an_expired_claim_frees_its_messages_which_live_out_the_grace(
        storage, project):
    """The message's own ttl runs out before the claim's ttl + grace: the
    claim keeps it alive, and once the claim expires the message is
    claimable again and deletable without a claim id."""
    [message_id] = post(storage, project, 'q', ['a'], ttl=SHORT)
    claim = storage.create_claim(project, 'q', ttl=SHORT, grace=3 * SHORT,
                                 limit=1)
    time.sleep(SHORT + 0.3)
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(project, 'q', claim.id)
    with pytest.raises(errors.ClaimNotFound):
        storage.update_claim(project, 'q', claim.id, ttl=60, grace=60)
    [message] = storage.get_messages(project, 'q', [message_id])
    assert message.claim_id is None
    with pytest.raises(errors.ClaimMismatch):
        storage.delete_message(project, 'q', message_id, claim_id=claim.id)
    again = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    assert [m.id for m in again.messages] == [message_id]
    assert again.messages[0].claim_count == 2
    storage.delete_claim(project, 'q', again.id)
    storage.delete_message(project, 'q', message_id)
    assert storage.get_messages(project, 'q', [message_id]) == []


def _claim_and_release(storage, project: str, queue: str):
    claim = storage.create_claim(project, queue, ttl=60, grace=60, limit=5)
    if claim is not None:
        storage.delete_claim(project, queue, claim.id)
    return claim


def test_messages_claimed_max_claim_count_times_move_to_the_dead_letter_queue(
        storage, project):
    storage.create_queue(project, 'q', {
        '_max_claim_count': 2, '_dead_letter_queue': 'dlq',
        '_dead_letter_queue_messages_ttl': 600})
    [message_id] = post(storage, project, 'q', [{'job': 1}])
    for count in (1, 2):
        claim = _claim_and_release(storage, project, 'q')
        assert [(m.id, m.claim_count) for m in claim.messages] == [
            (message_id, count)]
    post(storage, project, 'q', ['fresh'])
    third = storage.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert [m.body for m in third.messages] == ['fresh']
    assert bodies(storage.list_messages(project, 'q',
                                        include_claimed=True)) == ['fresh']
    [moved] = storage.list_messages(project, 'dlq').messages
    assert (moved.body, moved.ttl) == ({'job': 1}, 600)
    assert moved.claim_id is None


def test_dead_letters_keep_their_ttl_when_the_queue_sets_none(
        storage, project):
    storage.create_queue(project, 'q', {'_max_claim_count': 1,
                                        '_dead_letter_queue': 'dlq'})
    post(storage, project, 'q', ['x'], ttl=900)
    _claim_and_release(storage, project, 'q')
    assert storage.create_claim(project, 'q', ttl=60, grace=60,
                                limit=5) is None
    [moved] = storage.list_messages(project, 'dlq').messages
    assert (moved.body, moved.ttl) == ('x', 900)


def test_max_claim_count_without_a_dead_letter_queue_changes_nothing(
        storage, project):
    storage.create_queue(project, 'q', {'_max_claim_count': 1})
    post(storage, project, 'q', ['x'])
    for count in (1, 2, 3):
        claim = _claim_and_release(storage, project, 'q')
        assert claim.messages[0].claim_count == count


# -- dedup keys ------------------------------------------------------------

def test_a_dedup_key_posted_twice_is_stored_once(storage, project):
    [first] = storage.post_messages(project, 'q', [new('a', dedup_key='k')])
    [again] = storage.post_messages(project, 'q', [new('b', dedup_key='k')])
    assert again == first
    assert bodies(storage.list_messages(project, 'q')) == ['a']


def test_dedup_keys_apply_within_one_batch(storage, project):
    ids = storage.post_messages(project, 'q', [
        new('a', dedup_key='k1'), new('b', dedup_key='k2'),
        new('c', dedup_key='k1'), new('d')])
    assert ids[2] == ids[0] and len(set(ids)) == 3
    assert bodies(storage.list_messages(project, 'q')) == ['a', 'b', 'd']


def test_a_dedup_key_is_remembered_after_its_message_is_deleted(
        storage, project):
    [first] = storage.post_messages(project, 'q', [new('a', dedup_key='k')])
    storage.delete_message(project, 'q', first)
    [again] = storage.post_messages(project, 'q', [new('a', dedup_key='k')])
    assert again == first
    assert storage.list_messages(project, 'q').messages == []


def test_dedup_keys_are_per_queue_and_per_project(storage, project):
    [one] = storage.post_messages(project, 'q1', [new('a', dedup_key='k')])
    [two] = storage.post_messages(project, 'q2', [new('a', dedup_key='k')])
    [three] = storage.post_messages(project + '-other', 'q1',
                                    [new('a', dedup_key='k')])
    assert len({one, two, three}) == 3


def test_a_dedup_key_is_forgotten_after_the_dedup_window(
        storage, project, monkeypatch):
    monkeypatch.setattr(storage, 'dedup_window', SHORT)
    [first] = storage.post_messages(project, 'q', [new('a', dedup_key='k')])
    time.sleep(SHORT + 0.3)
    [second] = storage.post_messages(project, 'q', [new('b', dedup_key='k')])
    assert second != first
    [third] = storage.post_messages(project, 'q', [new('c', dedup_key='k')])
    assert third == second
    assert bodies(storage.list_messages(project, 'q')) == ['a', 'b']


def test_concurrent_posts_of_one_dedup_key_store_it_once(storage, project):
    results: list[str] = []

    def post_key(worker: int) -> None:
        results.extend(storage.post_messages(
            project, 'q', [new(worker, dedup_key='same')]))

    run_threads(6, post_key)
    assert len(set(results)) == 1
    assert len(storage.list_messages(project, 'q').messages) == 1


# -- bounded queues and multi-queue posts ----------------------------------

def test_trim_queue_evicts_the_oldest_messages_beyond_the_depth(
        storage, project):
    post_numbers(storage, project, 'q', range(6))
    storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)
    assert storage.trim_queue(project, 'q', 4) == 2
    assert bodies(storage.list_messages(project, 'q',
                                        include_claimed=True)) == [2, 3, 4, 5]
    assert storage.trim_queue(project, 'q', 4) == 0
    assert storage.trim_queue(project, 'missing', 4) == 0


def test_post_many_writes_every_queue_and_applies_each_depth(
        storage, project):
    post_numbers(storage, project, 'a', range(3))
    evicted = storage.post_many([
        models.Post(project, 'a', [new(3), new(4, dedup_key='k')],
                  max_depth=4),
        models.Post(project, 'b', [new('x', dedup_key='k')], client_id='c'),
        models.Post(project, 'a', [new(5, dedup_key='k')], max_depth=4),
    ])
    assert evicted == 1
    assert bodies(storage.list_messages(project, 'a')) == [1, 2, 3, 4]
    [message] = storage.list_messages(project, 'b').messages
    assert (message.body, message.client_id) == ('x', 'c')


# -- isolation and availability --------------------------------------------

def test_projects_see_nothing_of_each_others_queues(storage, project):
    other = project + '-b'
    storage.create_queue(project, 'q', {'owner': 'a'})
    ids = post(storage, project, 'q', ['secret-1', 'secret-2'])
    claim = storage.create_claim(project, 'q', ttl=60, grace=60, limit=1)

    assert storage.list_queues(other) == []
    assert storage.count_queues(other) == 0
    with pytest.raises(errors.QueueNotFound):
        storage.get_queue(other, 'q')
    assert storage.list_messages(other, 'q', include_claimed=True,
                                 include_delayed=True).messages == []
    assert storage.get_messages(other, 'q', ids) == []
    assert storage.queue_stats(other, 'q').total == 0
    assert storage.create_claim(other, 'q', ttl=60, grace=60,
                                limit=5) is None
    assert storage.pop_messages(other, 'q', 5) == []
    with pytest.raises(errors.ClaimNotFound):
        storage.get_claim(other, 'q', claim.id)
    with pytest.raises(errors.ClaimNotFound):
        storage.update_claim(other, 'q', claim.id, ttl=60, grace=60)
    storage.delete_claim(other, 'q', claim.id)
    storage.delete_message(other, 'q', ids[1])
    storage.delete_messages(other, 'q', ids, claim_ids=[claim.id])
    storage.purge_queue(other, 'q')
    storage.delete_queue(other, 'q')
    post(storage, other, 'q', ['own'])

    assert storage.get_queue(project, 'q') == {'owner': 'a'}
    page = storage.list_messages(project, 'q', include_claimed=True)
    assert bodies(page) == ['secret-1', 'secret-2']
    assert storage.get_claim(project, 'q', claim.id).messages[0].id == ids[0]
    assert bodies(storage.list_messages(other, 'q')) == ['own']


def test_health_and_ensure_schema_succeed_repeatedly(storage):
    storage.health()
    storage.ensure_schema()
    storage.health()


def test_an_unreachable_backend_raises_unavailable(unreachable_storage):
    calls = [
        lambda s: s.health(),
        lambda s: s.list_queues('p'),
        lambda s: s.post_messages('p', 'q', [new('a')]),
        lambda s: s.create_claim('p', 'q', ttl=60, grace=60, limit=1),
        lambda s: s.delete_message('p', 'q', 'id'),
    ]
    for call in calls:
        with pytest.raises(errors.Unavailable):
            call(unreachable_storage)
