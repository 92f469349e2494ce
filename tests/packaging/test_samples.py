"""The committed sample configuration and policy files match what the
generators produce from the code, and the setup.cfg entry points they use
work."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from bridge.api import policy

REPO = pathlib.Path(__file__).resolve().parents[2]
ETC = REPO / 'etc' / 'bridge'
BIN = pathlib.Path(sys.executable).parent

SAMPLES = {
    'config': ('oslo-config-generator', 'bridge-config-generator.conf',
               'bridge.conf.sample'),
    'policy': ('oslopolicy-sample-generator', 'bridge-policy-generator.conf',
               'policy.yaml.sample'),
}


def generate(tool: str, generator_conf: str, output: pathlib.Path) -> str:
    done = subprocess.run(
        [str(BIN / tool), '--config-file', str(ETC / generator_conf),
         '--output-file', str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, '%s failed:\n%s' % (tool, done.stderr)
    return output.read_text()


@pytest.mark.parametrize('kind', sorted(SAMPLES))
def test_committed_sample_is_up_to_date(kind: str,
                                        tmp_path: pathlib.Path) -> None:
    tool, generator_conf, sample = SAMPLES[kind]
    fresh = generate(tool, generator_conf, tmp_path / sample)
    committed = (ETC / sample).read_text()
    assert committed == fresh, (
        'etc/bridge/%s is stale; regenerate it from the repository root '
        'with:\n  .venv/bin/%s --config-file etc/bridge/%s'
        % (sample, tool, generator_conf))


def test_config_sample_has_every_group_and_no_machine_specific_default(
        ) -> None:
    text = (ETC / 'bridge.conf.sample').read_text()
    for group in ('[DEFAULT]', '[api]', '[storage]', '[limits]',
                  '[listener]', '[notifier]', '[keystone_authtoken]',
                  '[oslo_messaging_rabbit]', '[oslo_policy]'):
        assert group in text
    assert '#transport_url = ' in text and '#auth_strategy = noauth' in text
    for local in (str(REPO), str(pathlib.Path.home()), sys.prefix):
        assert local not in text, 'the sample embeds %s' % local
    assert '#state_path = $XDG_STATE_HOME/bridge' in text


def test_policy_sample_lists_every_rule_commented_out() -> None:
    text = (ETC / 'policy.yaml.sample').read_text()
    for rule in policy.list_rules():
        assert '#"%s": "%s"' % (rule.name, rule.check_str) in text


def test_policy_enforcer_entry_point_answers_effective_rules(
        tmp_path: pathlib.Path) -> None:
    """oslopolicy-policy-generator (and -checker) load the enforcer through
    the ``oslo.policy.enforcer`` entry point, which reads bridge's default
    configuration files (here ~/.bridge/bridge.conf): an override in the
    policy file it names shows in the effective rules."""
    home = tmp_path / 'home'
    (home / '.bridge').mkdir(parents=True)
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"queues:delete": "role:admin"\n')
    (home / '.bridge' / 'bridge.conf').write_text(
        '[oslo_policy]\npolicy_file = %s\n' % policy_file)
    done = subprocess.run(
        [str(BIN / 'oslopolicy-policy-generator'), '--namespace', 'bridge'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, HOME=str(home)))
    assert done.returncode == 0, done.stderr
    assert '"health:get": "rule:context_is_admin"' in done.stdout
    assert '"queues:delete": "role:admin"' in done.stdout
    assert '"queues:create": ""' in done.stdout
