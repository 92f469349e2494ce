"""The OpenStack CLI, unchanged (python-openstackclient with
python-zaqarclient's ``openstack messaging`` commands), against a
keystone-mode bridge-api: it logs in to the real Keystone with a password,
finds bridge as the ``messaging`` endpoint of the catalog, and creates and
lists queues, posts and lists messages, claims and subscribes. What it did
is then read back through the REST API with the same user's token, and
another project's user sees none of it."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import uuid
from typing import Any

import pytest
import requests

from .keystone import Keystone, User
from .server import BridgeAPI

TIMEOUT = 120
QUEUE = 'cli-jobs'


class OpenStackCLI:
    """``openstack`` run as one Keystone user, in a clean environment."""

    def __init__(self, keystone: Keystone, user: User, region: str,
                 home: pathlib.Path) -> None:
        self.client_id = str(uuid.uuid4())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
        self.env.update({
            'HOME': str(home),  # no clouds.yaml, no cache of another run
            'OS_AUTH_URL': keystone.auth_url,
            'OS_IDENTITY_API_VERSION': '3',
            'OS_AUTH_TYPE': 'password',
            'OS_USERNAME': user.name,
            'OS_PASSWORD': user.password,
            'OS_USER_DOMAIN_ID': 'default',
            'OS_PROJECT_ID': user.project_id,
            'OS_REGION_NAME': region,
            'OS_INTERFACE': 'public',
            'OS_MESSAGE_CLIENT_ID': self.client_id,
        })

    def __call__(self, *args: str) -> str:
        executable = pathlib.Path(sys.executable).parent / 'openstack'
        proc = subprocess.run([str(executable), *args], env=self.env,
                              capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, (
            f'openstack {" ".join(args)} exited {proc.returncode}:\n'
            f'{proc.stderr[-3000:]}')
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, '-f', 'json'))


@pytest.fixture(scope='module')
def region(keystone: Keystone, keystone_api: BridgeAPI) -> str:
    """A region whose catalog has bridge as the ``messaging`` service."""
    return keystone.register_endpoint('messaging', keystone_api.url)


def rest(api: BridgeAPI, token: str, method: str, path: str) -> requests.Response:
    return requests.request(method, api.url + path, timeout=30, headers={
        'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': token})


def test_openstack_messaging_commands_work_against_bridge(
        keystone: Keystone, keystone_api: BridgeAPI, region: str,
        tmp_path: pathlib.Path) -> None:
    user = keystone.create_user('cli')
    cli = OpenStackCLI(keystone, user, region, tmp_path)

    created = cli.json('messaging', 'queue', 'create', QUEUE)
    assert created['Name'] == QUEUE
    assert QUEUE in [q['Name'] for q in cli.json('messaging', 'queue', 'list')]

    cli('messaging', 'message', 'post', QUEUE, json.dumps([
        {'body': {'event': 'first'}, 'ttl': 600},
        {'body': {'event': 'second'}, 'ttl': 600}]))
    listed = cli.json('messaging', 'message', 'list', QUEUE, '--echo')
    assert [m['Body'] for m in listed] == [{'event': 'first'}, {'event': 'second'}]
    assert {m['TTL'] for m in listed} == {600}

    claimed = cli.json('messaging', 'claim', 'create', QUEUE,
                       '--ttl', '300', '--grace', '60', '--limit', '1')
    assert [m['Messages'] for m in claimed] == [{'event': 'first'}]
    assert claimed[0]['Claim_ID']

    subscribed = cli.json('messaging', 'subscription', 'create', QUEUE,
                          'mailto:ops@example.com', '3600')
    assert subscribed['ID']

    # The same state, read through the REST API with the user's own token.
    token = keystone.token(user)
    stats = rest(keystone_api, token, 'GET', f'/v2/queues/{QUEUE}/stats')
    assert stats.status_code == 200, stats.text
    counts = stats.json()['messages']
    assert (counts['total'], counts['claimed'], counts['free']) == (2, 1, 1)
    subs = rest(keystone_api, token, 'GET', f'/v2/queues/{QUEUE}/subscriptions')
    assert subs.status_code == 200, subs.text
    assert [(s['id'], s['subscriber']) for s in subs.json()['subscriptions']] == [
        (subscribed['ID'], 'mailto:ops@example.com')]

    # Another project's user, through the same CLI, sees nothing of it.
    other = OpenStackCLI(keystone, keystone.create_user('cli-other'), region,
                         tmp_path)
    assert QUEUE not in [q['Name'] for q in other.json('messaging', 'queue', 'list')]
    assert other.json('messaging', 'message', 'list', QUEUE, '--echo') == []
