"""Suite-wide pytest hooks.

Under ``CI=true`` (set by CI systems; ``.ci/run`` inherits it) a skipped test
is reported as a failure: a test that did not run proves nothing, and bridge's
tests must fail loudly when a service they need is missing, not skip.
Expected failures (``xfail``) are not affected.

Every bridge-api a test starts has its WebSocket server off (oslo.config
reads ``OS_WEBSOCKET__BIND_PORT`` from the environment, over configuration
files): its default port, 9000, would be shared by every test and every
developer on the machine. Tests of the WebSocket API give a free port
(tests/functional/server.py: ``BridgeAPI(..., websocket=True)``).
"""

import os

import pytest

os.environ['OS_WEBSOCKET__BIND_PORT'] = '0'


def pytest_configure(config):
    # eventlet (imported by oslo.messaging, never run by bridge) warns at
    # every fork; listener tests fork store processes (listeners/handoff).
    config.addinivalue_line(
        'filterwarnings',
        r'ignore:Using fork\(\) is a bad idea:DeprecationWarning')


def _skips_fail() -> bool:
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _skips_fail() and not hasattr(report, 'wasxfail'):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = 'failed'
        report.longrepr = f'skipped under CI=true, which counts as a failure: {reason}'


def pytest_sessionfinish(session, exitstatus):
    """Catch skips the hook above cannot see (a whole module skipped at
    collection time) and fail the run for them too."""
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if _skips_fail() and reporter is not None and reporter.stats.get('skipped'):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _skips_fail() and terminalreporter.stats.get('skipped'):
        terminalreporter.write_sep('=', 'CI=true: skipped tests count as failures', red=True)
