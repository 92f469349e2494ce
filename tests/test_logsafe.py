"""Log lines a client cannot forge: control characters in a logged value
are escaped, on one line, in the log file bridge-api writes."""

from __future__ import annotations

import logging
import pathlib

from oslo_log import log

from bridge import logsafe
from bridge.api import wsgi


def test_escape_writes_control_characters_as_python_escapes() -> None:
    assert logsafe.escape('GET /v2/queues/a\nb\x00\x1b[31m\x7f\x85') == \
        'GET /v2/queues/a\\nb\\x00\\x1b[31m\\x7f\\x85'
    assert logsafe.escape('plain ü text') == 'plain ü text'


def test_a_newline_in_a_logged_path_stays_on_its_line(
        tmp_path: pathlib.Path) -> None:
    log_file = tmp_path / 'api.log'
    conf_file = tmp_path / 'bridge.conf'
    conf_file.write_text('[DEFAULT]\nlog_file = %s\n' % log_file)
    wsgi.load_conf(['--config-file', str(conf_file)], config_files=[])
    try:
        log.getLogger('bridge.api.errors').warning(
            'Storage unavailable for %s %s: %s', 'GET',
            '/v2/queues/q\n2026-12-06 ERROR forged line', 'down')
        for handler in logging.getLogger().handlers:
            handler.flush()
        lines = log_file.read_text().splitlines()
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert len(lines) == 1, lines
    assert '/v2/queues/q\\n2026-12-06 ERROR forged line' in lines[0]


def test_tracebacks_keep_their_lines(tmp_path: pathlib.Path) -> None:
    logger = logging.getLogger('bridge.test.logsafe')
    stream = tmp_path / 'out.log'
    handler = logging.FileHandler(stream)
    logger.addHandler(handler)
    logsafe.install(logger)
    try:
        try:
            raise ValueError('boom')
        except ValueError:
            logger.exception('failed for %s', 'a\rb')
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = stream.read_text()
    assert text.splitlines()[0] == 'failed for a\\rb'
    assert 'Traceback (most recent call last):' in text.splitlines()[1]
