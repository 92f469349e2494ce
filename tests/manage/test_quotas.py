"""``bridge-manage quota``: per-project overrides stored in storage, as an
operator types the commands, and seen by the storage every process uses."""

from __future__ import annotations

from .conftest import write_conf


def test_set_show_list_and_delete_overrides(setup) -> None:
    done = setup.manage('quota', 'set', 'demo', 'queues', '50')
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'Quota of project demo: queues 50\n'
    setup.manage('quota', 'set', 'demo', 'subscriptions', '0')
    setup.manage('quota', 'set', 'other', 'messages', '10')
    assert setup.store.get_quotas('demo') == {'queues': 50,
                                              'subscriptions': 0}

    shown = setup.manage('quota', 'show', 'demo')
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        'Quotas of project demo:',
        '  queues         50         (override)',
        '  messages       100000     (default)',
        '  subscriptions  unlimited  (override)',
    ]
    listed = setup.manage('quota', 'list')
    assert listed.stdout.splitlines() == [
        'Defaults ([quotas]): queues 1000, messages 100000, '
        'subscriptions 1000',
        'Project overrides:',
        '  demo  queues 50, subscriptions unlimited',
        '  other  messages 10',
    ]

    deleted = setup.manage('quota', 'delete', 'demo', 'queues')
    assert deleted.returncode == 0, deleted.stderr
    assert setup.store.get_quotas('demo') == {'subscriptions': 0}
    setup.manage('quota', 'delete', 'demo')
    assert setup.store.get_quotas('demo') == {}
    assert setup.store.get_quotas('other') == {'messages': 10}


def test_show_uses_the_configured_defaults(setup) -> None:
    write_conf(setup.path, setup.url,
               '[quotas]\nqueues_per_project = 3\n')
    shown = setup.manage('quota', 'show', 'demo')
    assert '  queues         3          (default)' in shown.stdout


def test_bad_arguments_and_dead_storage_end_with_one_clear_line(
        setup, tmp_path) -> None:
    wrong = setup.manage('quota', 'set', 'demo', 'volumes', '3')
    assert wrong.returncode == 2 and "invalid choice: 'volumes'" in \
        wrong.stderr
    negative = setup.manage('quota', 'set', 'demo', 'queues', '-1')
    assert negative.returncode == 2 and 'must be 0 (unlimited) or more' in \
        negative.stderr
    write_conf(setup.path, 'postgresql://nobody@127.0.0.1:1/nothing')
    dead = setup.manage('quota', 'list')
    assert dead.returncode == 1
    assert dead.stderr.splitlines()[-1].startswith(
        'bridge-manage: storage unavailable')
    assert 'Traceback' not in dead.stderr
    write_conf(setup.path, setup.url, '[encryption]\nkeys = k1:no!pe\n')
    bad_key = setup.manage('quota', 'list')
    assert bad_key.returncode == 1
    assert bad_key.stderr.splitlines()[-1] == (
        "bridge-manage: [encryption] keys: key 'k1' is not valid base64")
    assert 'Traceback' not in bad_key.stderr
