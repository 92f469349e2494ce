"""The console scripts fail the way an operator needs: a missing
configuration file, unreachable storage or an unreachable RabbitMQ end the
command with two lines on stderr (the problem, then what to check) and
exit status 1, without a traceback unless ``--debug``; and ``--help``
shows no third-party deprecation warnings. Each test runs the installed
console script as a subprocess."""

from __future__ import annotations

import os
import re
import pathlib
import socket
import subprocess
import sys

import pytest

from tests.listeners.conftest import RABBIT_URL

BIN = pathlib.Path(sys.executable).parent
COMMANDS = {'bridge-api': [], 'bridge-listener': [], 'bridge-notifier': [],
            'bridge-manage': ['db', 'sync']}


def run(command: str, *args: str, cwd: pathlib.Path,
        timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONWARNINGS', 'PROMETHEUS_MULTIPROC_DIR')}
    env['HOME'] = str(cwd)  # no ~/.bridge/bridge.conf of the developer
    return subprocess.run([str(BIN / command), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def failure_lines(done: subprocess.CompletedProcess[str],
                  command: str) -> list[str]:
    """The command's own lines on stderr (log lines have a timestamp)."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert 'Traceback' not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines()
             if line.startswith(command + ': ')]
    assert len(lines) == 2, done.stderr
    return lines


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_missing_config_file_is_two_lines_and_status_1(
        command: str, tmp_path: pathlib.Path) -> None:
    missing = tmp_path / 'nowhere' / 'bridge.conf'
    done = run(command, '--config-file', str(missing), *COMMANDS[command],
               cwd=tmp_path)
    problem, hint = failure_lines(done, command)
    assert str(missing) in problem and 'not found' in problem
    assert '--config-file' in hint


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_unreachable_storage_is_two_lines_and_status_1(
        command: str, tmp_path: pathlib.Path) -> None:
    conf = tmp_path / 'bridge.conf'
    conf.write_text('[storage]\nurl = postgresql://u:s3cret@127.0.0.1:%d/x\n'
                    '[listener]\nbroker_check_timeout = 2\n' % dead_port())
    done = run(command, '--config-file', str(conf), *COMMANDS[command],
               cwd=tmp_path)
    if command == 'bridge-manage':
        # db sync already reported it in one line, naming the URL.
        assert done.returncode == 1 and 'Traceback' not in done.stderr
        assert 'Storage unavailable (postgresql://u:***@' in done.stderr
        return
    problem, hint = failure_lines(done, command)
    assert 'storage unavailable' in problem
    if command != 'bridge-api':
        assert 'postgresql://u:***@127.0.0.1:' in problem
    assert '[storage] url' in hint
    assert 's3cret' not in done.stderr + done.stdout


def test_debug_adds_the_traceback(tmp_path: pathlib.Path) -> None:
    done = run('bridge-notifier', '--debug', '--config-file',
               str(tmp_path / 'missing.conf'), cwd=tmp_path)
    assert done.returncode == 1
    assert 'Traceback' in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith(
        'bridge-notifier: check the --config-file')


def test_listener_with_unreachable_rabbitmq_is_two_lines_and_status_1(
        tmp_path: pathlib.Path) -> None:
    conf = tmp_path / 'bridge.conf'
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:pw@127.0.0.1:'
                    '%d/\n[storage]\nurl = sqlite:///%s\n[listener]\n'
                    'broker_check_timeout = 2\n'
                    % (dead_port(), tmp_path / 'bridge.sqlite'))
    done = run('bridge-listener', '--config-file', str(conf), cwd=tmp_path)
    problem, hint = failure_lines(done, 'bridge-listener')
    assert 'RabbitMQ unreachable at rabbit://guest:***@127.0.0.1:' in problem
    assert '[DEFAULT] transport_url' in hint
    assert ':pw@' not in done.stderr + done.stdout


def test_listener_with_wrong_rabbitmq_password_is_two_lines(
        tmp_path: pathlib.Path) -> None:
    bad = re.sub(r'(//[^:/@]+:)[^@]*@', r'\1not-the-password@', RABBIT_URL)
    conf = tmp_path / 'bridge.conf'
    conf.write_text('[DEFAULT]\ntransport_url = %s\n[storage]\n'
                    'url = sqlite:///%s\n' % (bad, tmp_path / 'b.sqlite'))
    done = run('bridge-listener', '--config-file', str(conf), cwd=tmp_path)
    problem, _hint = failure_lines(done, 'bridge-listener')
    assert 'ACCESS_REFUSED' in problem
    assert 'not-the-password' not in done.stderr


@pytest.mark.parametrize('command', ['bridge-api', 'bridge-listener',
                                     'bridge-notifier', 'bridge-manage',
                                     'bridge-bench', 'bridge-demo'])
def test_help_shows_no_deprecation_warnings(
        command: str, tmp_path: pathlib.Path) -> None:
    done = run(command, '--help', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('usage: ')
    assert 'Warning' not in done.stderr and 'deprecat' not in \
        done.stderr.lower(), done.stderr


def test_notifier_with_busy_metrics_port_is_two_lines(
        tmp_path: pathlib.Path) -> None:
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        conf = tmp_path / 'bridge.conf'
        conf.write_text('[storage]\nurl = sqlite:///%s\n[notifier]\n'
                        'metrics_port = %d\n' % (tmp_path / 'b.sqlite', port))
        done = run('bridge-notifier', '--config-file', str(conf),
                   cwd=tmp_path)
    problem, hint = failure_lines(done, 'bridge-notifier')
    assert problem.endswith('metrics port 127.0.0.1:%d is already in use'
                            % port)
    assert 'metrics_port' in hint
