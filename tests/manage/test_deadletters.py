"""``bridge-manage dead-letters list|replay`` on a real SQLite database
whose dead-letter queue the real listener endpoint filled."""

from __future__ import annotations

import collections
import io
import pathlib
import re
import uuid

from bridge import translation
from bridge.listeners import endpoint as bridge_endpoint
from bridge.manage import deadletters
from bridge.storage import base, models
from tests.listeners.conftest import as_listener_message
from tests.manage.conftest import (DEAD_PROJECT, DEAD_QUEUE, Setup,
                                   narrowed_rules, write_conf)

DEFAULT_RULES = translation.load_rules(translation.default_rules_path())


def listen(setup: Setup, rules: translation.Rules, samples: list[dict]
           ) -> None:
    """Hand every sample to the listener's endpoint, as the bus would."""
    endpoint = bridge_endpoint.BridgeEndpoint(
        setup.store, rules, default_ttl=3600,
        dead_letter_project=DEAD_PROJECT, dead_letter_queue=DEAD_QUEUE,
        dead_letter_ttl=86400, max_queue_depth=0, requeue_delay=0)
    for sample in samples:
        handler = getattr(endpoint, sample['priority'].lower())
        assert handler([as_listener_message(sample)]) is None


def routed_now(samples: list[dict]) -> dict[str, translation.Routed]:
    """message_id -> where the current (default) rules deliver it, with
    the ownership index the listener builds from the samples in order."""
    result = {}
    owners: dict[tuple[str, str], str] = {}
    for sample in samples:
        note = bridge_endpoint.to_notification(
            sample['priority'].lower(), as_listener_message(sample))
        routed = translation.translate(note, DEFAULT_RULES, owners)
        if isinstance(routed, translation.Routed):
            result[note.message_id] = routed
            if routed.ownership is not None:
                owners[routed.ownership.key] = routed.ownership.project
    return result


def tenant_bodies(setup: Setup, project: str, queue: str) -> list[dict]:
    return [m.body for m in setup.store.list_messages(
        project, queue, limit=1000, echo=True, include_claimed=True).messages]


def letter_ids(setup: Setup) -> set[str]:
    return {m.body['notification'].get('message_id')
            for m in setup.letters()}


def test_replay_stores_letters_in_their_tenant_queues_with_current_rules(
        setup: Setup, samples: list[dict], tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    routable = routed_now(samples)
    before = letter_ids(setup)
    replayable = before & set(routable)
    assert len(replayable) >= 20, 'the narrowed rules should strand events'

    done = setup.manage('dead-letters', 'replay')

    assert done.returncode == 0, done.stderr
    # Every replayable letter is in its tenant queue exactly once, with the
    # body the listener would store today, and has left the queue.
    for message_id in replayable:
        routed = routable[message_id]
        bodies = tenant_bodies(setup, routed.project_id, routed.queue)
        assert [b for b in bodies if b['id'] == message_id] == [routed.body]
    assert letter_ids(setup) == before - replayable
    # What stays cannot reach a tenant with the default rules either
    # (operator-only families such as flavors and Keystone users).
    assert 'flavor.create' in {m.body['notification']['event_type']
                               for m in setup.letters()}
    kept = len(before - replayable)
    assert ('Replayed %s/%s: %d examined: stored %d, kept %d (unroutable %d)'
            ', failed 0' % (DEAD_PROJECT, DEAD_QUEUE, len(before),
                            len(replayable), kept, kept)) in done.stdout
    assert 'stored in %s/cinder-events' % routable[
        next(i for i in replayable
             if routable[i].queue == 'cinder-events')].project_id in done.stdout


def test_replay_twice_or_after_the_listener_stored_adds_no_duplicate(
        setup: Setup, samples: list[dict], tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    # A redelivery under fixed rules already stored these events.
    listen(setup, DEFAULT_RULES, samples)
    routable = routed_now(samples)

    first = setup.manage('dead-letters', 'replay')
    second = setup.manage('dead-letters', 'replay')

    assert first.returncode == 0 and second.returncode == 0
    counts: collections.Counter[str] = collections.Counter()
    for routed in {(r.project_id, r.queue) for r in routable.values()}:
        counts.update(b['id'] for b in tenant_bodies(setup, *routed))
    assert set(counts) == set(routable)
    assert max(counts.values()) == 1
    assert re.search(r': \d+ examined: stored 0, kept \d+', second.stdout)


def test_dry_run_reports_what_would_be_stored_and_writes_nothing(
        setup: Setup, samples: list[dict], tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    before = letter_ids(setup)
    replayable = before & set(routed_now(samples))

    done = setup.manage('dead-letters', 'replay', '--dry-run')

    assert done.returncode == 0, done.stderr
    assert 'Dry run, nothing written.' in done.stdout
    assert 'would store %d' % len(replayable) in done.stdout
    assert letter_ids(setup) == before
    cinder = [r for r in routed_now(samples).values()
              if r.queue == 'cinder-events'][0]
    assert tenant_bodies(setup, cinder.project_id, 'cinder-events') == []


def test_replay_limit_and_progress_lines(setup: Setup, samples: list[dict]
                                         ) -> None:
    cinder = [s for s in samples if s['event_type'] == 'volume.create.end'][0]
    stranded = []
    for _ in range(25):
        sample = dict(cinder, message_id=str(uuid.uuid4()))
        note = bridge_endpoint.to_notification('info',
                                               as_listener_message(sample))
        stranded.append(models.NewMessage(
            body={'reason': 'no routing rule matches',
                  'notification': translation.model.original_body(note)},
            ttl=3600, dedup_key=note.message_id))
    setup.store.post_messages(DEAD_PROJECT, DEAD_QUEUE, stranded)

    done = setup.manage('dead-letters', 'replay', '--limit', '10',
                        '--progress-every', '4')

    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stdout.splitlines()
                if line.startswith('replay: ')]
    assert [p.split(' (')[0] for p in progress] == [
        'replay: 4 examined: stored 4, kept 0, failed 0',
        'replay: 8 examined: stored 8, kept 0, failed 0']
    assert '10 examined: stored 10, kept 0, failed 0' in done.stdout
    assert len(setup.letters()) == 15


def test_refused_letters_are_stored_as_kept_and_address_only_ones_stay(
        setup: Setup) -> None:
    message = {'version': 1, 'id': 'evt-1', 'event_type': 'volume.create.end',
               'project_id': 'p1', 'payload': {'size': 1}}
    setup.store.post_messages(DEAD_PROJECT, DEAD_QUEUE, [
        models.NewMessage(body={'reason': 'storing in p1/cinder-events failed',
                              'notification': {'project_id': 'p1',
                                               'queue': 'cinder-events',
                                               'message': message}},
                        ttl=3600),
        models.NewMessage(body={'reason': 'storing in p2/q failed',
                              'notification': {'project_id': 'p2',
                                               'queue': 'q'}}, ttl=3600),
    ])

    done = setup.manage('dead-letters', 'replay')

    assert done.returncode == 0, done.stderr
    assert tenant_bodies(setup, 'p1', 'cinder-events') == [message]
    assert [m.body['notification']['project_id']
            for m in setup.letters()] == ['p2']
    assert 'kept 1: only the address p2/q was kept, not the message' \
        in done.stdout


class RefusingStorage:
    """Real storage, except that one project's queues refuse writes."""

    def __init__(self, store: base.Storage, project: str) -> None:
        self._store = store
        self._project = project

    def post_many(self, posts: list[models.Post]) -> int:
        if any(p.project == self._project for p in posts):
            raise ValueError('queue refuses the message')
        return self._store.post_many(posts)

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def test_a_letter_whose_store_fails_stays_and_the_run_goes_on(
        setup: Setup, samples: list[dict], tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    routable = routed_now(samples)
    before = letter_ids(setup)
    replayable = before & set(routable)
    victim = routable[sorted(replayable)[0]].project_id
    refused = {i for i in replayable if routable[i].project_id == victim}
    out = io.StringIO()
    replayer = deadletters.Replayer(
        RefusingStorage(setup.store, victim), DEFAULT_RULES,  # type: ignore
        project=DEAD_PROJECT, queue=DEAD_QUEUE, default_ttl=3600,
        max_depth=None, out=out)

    summary = replayer.run(deadletters.Summary(), limit=None, dry_run=False)

    assert summary.failed == len(refused)
    assert summary.stored == len(replayable) - len(refused)
    assert letter_ids(setup) == (before - replayable) | refused
    assert out.getvalue().count('failed: ValueError: queue refuses') \
        == len(refused)


def test_claimed_letters_are_skipped(setup: Setup, samples: list[dict],
                                     tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    claim = setup.store.create_claim(DEAD_PROJECT, DEAD_QUEUE, ttl=300,
                                     grace=60, limit=5)
    assert claim is not None
    held = {m.id for m in claim.messages}

    done = setup.manage('dead-letters', 'replay')

    assert done.returncode == 0, done.stderr
    assert held <= {m.id for m in setup.letters()}


def test_list_shows_count_and_oldest_letters_with_their_reason(
        setup: Setup, samples: list[dict], tmp_path: pathlib.Path) -> None:
    listen(setup, narrowed_rules(tmp_path), samples)
    total = len(setup.letters())

    done = setup.manage('dead-letters', 'list', '--limit', '2')

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == '%s/%s: %d dead letters (0 claimed)' % (
        DEAD_PROJECT, DEAD_QUEUE, total)
    oldest = setup.letters()[:2]
    for line, letter in zip(lines[1:3], oldest, strict=True):
        assert line.startswith(letter.id)
        assert letter.body['notification']['event_type'] in line
        assert 'no routing rule matches' in line
    assert lines[3] == '(2 shown; use --limit to see more)'


def test_unreachable_storage_is_a_clear_error(setup: Setup,
                                              tmp_path: pathlib.Path) -> None:
    write_conf(setup.path, 'postgresql://bridge:s3cret@127.0.0.1:1/nowhere')
    for command in (['list'], ['replay']):
        done = setup.manage('dead-letters', *command)
        assert done.returncode == 1
        assert 'storage unavailable' in done.stderr
        assert 's3cret' not in done.stderr + done.stdout


def test_missing_sqlite_database_is_not_created(tmp_path: pathlib.Path
                                                ) -> None:
    path = tmp_path / 'bridge.conf'
    db = tmp_path / 'absent.sqlite'
    write_conf(path, 'sqlite:///%s' % db)
    setup = Setup(path, '', None)  # type: ignore[arg-type]
    done = setup.manage('dead-letters', 'list')
    assert done.returncode == 1
    assert 'no storage at %s yet' % db in done.stderr
    assert not db.exists()
