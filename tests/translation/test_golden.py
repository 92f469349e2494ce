"""The golden table: exactly what a tenant receives for each of the 49
samples under the shipped rules, so that removing a tenant fact fails a
test as surely as leaking an operator's does.

``golden_tenant_view.json`` holds, per sample, the project and queue it
reaches and the whole body stored there, or the dead-letter reason. The
samples go through in file order with the ownership index the listener
would build (so ``neutron__network.delete.end``, an admin deleting a
network whose payload names no owner, reaches the network's owner).

After a deliberate change of the rules, regenerate it and review the diff:

    .venv/bin/python -m tests.translation.test_golden --write
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest

from bridge import translation
from .support import NAMES, SAMPLES, notification

GOLDEN = os.path.join(os.path.dirname(__file__), 'golden_tenant_view.json')

# Tenant facts: keys whose values a tenant must always get, wherever they
# are in a payload (ids, names it chose, status/state, sizes, flavors,
# timestamps, request ids).
FACT_KEYS = ('id', 'uuid', 'name', 'display_name', 'stack_name', 'status',
             'state', 'power_state', 'task_state', 'size', 'volume_size',
             'vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb', 'disk_gb',
             'instance_type', 'flavorid', 'created_at', 'updated_at',
             'deleted_at', 'launched_at', 'terminated_at', 'create_at',
             'request_id', 'eventTime', 'resource_info')
FACT_SUFFIXES = ('_id', '_uuid')
# Fact-like keys that are the operator's, not the tenant's, and why.
NOT_TENANT_FACTS = {
    'service_id': "trove's own service record",
    'pool_id': "designate's server pool",
    'nova_instance_id': "trove's server in the service project",
    'receiver_tenant_id': 'who downloaded an image (another project)',
    'receiver_user_id': 'who downloaded an image (another user)',
    'provider_id': 'a storage backend id',
    'managed_resource_id': "designate's own records",
    'managed_tenant_id': "designate's own records",
    'host_id': 'a compute host',
    'binding:host_id': 'the compute host a port is bound on',
    'provider:segmentation_id': 'the VLAN/VXLAN id of the physical network',
}


def tenant_view() -> dict[str, Any]:
    """Sample name -> what the shipped rules make of it."""
    rules = translation.load_rules(translation.default_rules_path())
    owners: dict[tuple[str, str], str] = {}
    table: dict[str, Any] = {}
    for name in NAMES:
        result = translation.translate(notification(name), rules, owners)
        if isinstance(result, translation.Routed):
            if result.ownership is not None:
                owners[result.ownership.key] = result.ownership.project
            table[name] = {'project_id': result.project_id,
                           'queue': result.queue, 'body': result.body}
        elif isinstance(result, translation.Dropped):
            table[name] = {'dropped': result.rule}
        else:
            table[name] = {'dead_letter': result.reason}
    return table


@pytest.fixture(scope='module')
def golden() -> dict[str, Any]:
    with open(GOLDEN, encoding='utf-8') as f:
        return json.load(f)


@pytest.fixture(scope='module')
def current() -> dict[str, Any]:
    return tenant_view()


def test_the_golden_table_covers_all_49_samples(golden):
    assert sorted(golden) == NAMES
    assert len(NAMES) == 49


@pytest.mark.parametrize('name', NAMES)
def test_each_sample_gives_its_tenant_exactly_the_golden_body(
        golden, current, name):
    assert current[name] == golden[name]


@pytest.mark.parametrize('name', NAMES)
def test_owned_samples_reach_their_owner_and_unowned_ones_no_tenant(
        current, name):
    expected = SAMPLES[name]['expected_project']
    if expected is None:
        assert 'project_id' not in current[name]
        assert current[name]['dead_letter'].startswith('owner unknown')
    else:
        assert current[name]['project_id'] == expected


def _facts(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every scalar under a tenant-fact key."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = path + (key,)
            is_fact = (key in FACT_KEYS or key.endswith(FACT_SUFFIXES)) \
                and key not in NOT_TENANT_FACTS
            if is_fact and not isinstance(item, (dict, list)):
                found.append((here, item))
            found += _facts(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _facts(item, path + (index,))
    return found


def _at(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


@pytest.mark.parametrize('name', [n for n in NAMES
                                  if SAMPLES[n]['expected_project']])
def test_every_tenant_fact_of_a_sample_survives_redaction(current, name):
    """Independent of the golden file: ids, names, states, sizes and
    timestamps of the payload are in the tenant's body, where they were."""
    payload = current[name]['body']['payload']
    facts = _facts(SAMPLES[name]['payload'])
    assert facts or name.startswith('glance__image.send')
    for path, value in facts:
        try:
            assert _at(payload, path) == value, path
        except (KeyError, IndexError, TypeError):
            pytest.fail('%s: tenant fact %s = %r was removed'
                        % (name, '.'.join(map(str, path)), value))


def main(argv: list[str]) -> int:
    if argv != ['--write']:
        print(__doc__)
        return 2
    with open(GOLDEN, 'w', encoding='utf-8') as f:
        json.dump(tenant_view(), f, indent=1, sort_keys=True)
        f.write('\n')
    print('wrote %s' % GOLDEN)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
