"""The installed distribution exposes every command and plugin hook that
setup.cfg declares, and each one loads."""

from __future__ import annotations

import subprocess
from importlib import metadata

import pytest

from tests.packaging.conftest import BIN

EXPECTED = {
    'console_scripts': {'bridge-api', 'bridge-listener', 'bridge-notifier',
                        'bridge-manage', 'bridge-demo', 'bridge-bench'},
    'wsgi_scripts': {'bridge-wsgi-api'},
    'oslo.config.opts': {'bridge'},
    'oslo.policy.policies': {'bridge'},
    'oslo.policy.enforcer': {'bridge'},
}


def entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    dist = metadata.distribution('bridge')
    return {ep.name: ep for ep in dist.entry_points if ep.group == group}


@pytest.mark.parametrize('group', sorted(EXPECTED))
def test_entry_points_are_declared_and_load(group: str) -> None:
    found = entry_points(group)
    assert EXPECTED[group] <= set(found), (
        'missing from the installed metadata (reinstall with pip install '
        '-e . after changing setup.cfg): %s' % (EXPECTED[group] - set(found)))
    for name in EXPECTED[group]:
        assert callable(found[name].load()), name


@pytest.mark.parametrize('command', sorted(
    EXPECTED['console_scripts'] - {'bridge-bench'}))
def test_console_script_answers_help(command: str) -> None:
    done = subprocess.run([str(BIN / command), '--help'],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'usage:' in done.stdout
