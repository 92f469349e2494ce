"""Email delivery through a real SMTP server (aiosmtpd): the mail itself,
classification of SMTP failures, and retries while the server is down."""

import types

import pytest

from bridge.notifier import email as email_mod
from bridge.notifier import result as res
from tests.notifier.conftest import (EVENT, make_conf, post, subscribe,
                                     wait_until)


def mailer(port):
    opts = types.SimpleNamespace(host='127.0.0.1', port=port, ssl=False,
                                 starttls=False, username=None,
                                 password=None, sender='bridge@example.org')
    return email_mod.EmailSender(opts, connect_timeout=1.0, read_timeout=2.0)


def test_a_mail_reaches_the_recipient_with_subject_and_text(smtp):
    result = mailer(smtp.port).deliver('ops@example.org', 'Hello',
                                       'Event type: x\n')
    assert result.delivered
    [mail] = smtp.received()
    assert mail.recipients == ['ops@example.org']
    assert mail.sender == 'bridge@example.org'
    assert mail.subject == 'Hello'
    assert mail.text == 'Event type: x\n'


def test_a_server_that_is_down_means_retry(smtp):
    smtp.stop()
    result = mailer(smtp.port).deliver('ops@example.org', 'Hello', 'x')
    assert result.outcome is res.Outcome.RETRY


@pytest.mark.parametrize('code,outcome', [(550, res.Outcome.FINAL),
                                          (450, res.Outcome.RETRY)])
def test_refused_recipients_are_final_on_5xx_and_retried_on_4xx(smtp, code,
                                                               outcome):
    smtp.refuse_recipients['gone@example.org'] = code
    result = mailer(smtp.port).deliver('gone@example.org', 'Hello', 'x')
    assert result.outcome is outcome
    assert str(code) in result.reason
    assert smtp.received() == []


def test_subject_comes_from_options_then_the_url_then_the_event_type():
    assert email_mod.subject_for('Opt', 'Url', EVENT, 'q') == 'Opt'
    assert email_mod.subject_for(None, 'Url', EVENT, 'q') == 'Url'
    assert email_mod.subject_for(None, None, EVENT, 'q') == \
        EVENT + ' on queue q'
    assert email_mod.subject_for(None, None, None, 'q') == \
        'Message on queue q'
    assert email_mod.subject_for('a\r\nBcc: x@y', None, EVENT, 'q') == \
        'a Bcc: x@y'


def test_the_text_shows_the_event_type_and_the_payload_as_indented_json():
    text = email_mod.text_body('q', 'm1', {'event_type': EVENT,
                                           'payload': {'id': 7}})
    assert 'Event type: %s' % EVENT in text
    assert 'Queue: q' in text and 'Message id: m1' in text
    assert '  "payload": {\n    "id": 7\n  }' in text


# -- through the notifier ----------------------------------------------------

def test_the_notifier_mails_each_message_with_the_subscription_subject(
        smtp, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, smtp_port=smtp.port)
    subscribe(store, project, 'q', 'mailto:ops@example.org?subject=From%20URL')
    subscribe(store, project, 'q', 'mailto:dev@example.org',
              subject='From options')
    subscribe(store, project, 'q', 'mailto:all@example.org')
    post(store, project, 'q', 2)
    run_notifier(conf, store)
    mails = smtp.wait_for(6)
    assert len(mails) == 6
    by_rcpt = {}
    for mail in mails:
        by_rcpt.setdefault(mail.recipients[0], []).append(mail)
    assert {m.subject for m in by_rcpt['ops@example.org']} == {'From URL'}
    assert {m.subject for m in by_rcpt['dev@example.org']} == {'From options'}
    assert {m.subject for m in by_rcpt['all@example.org']} == \
        {EVENT + ' on queue q'}
    texts = [m.text for m in by_rcpt['all@example.org']]
    assert all('Event type: ' + EVENT in t for t in texts)
    assert ['"seq": 0' in texts[0], '"seq": 1' in texts[1]] == [True, True]


def test_mail_is_retried_while_the_smtp_server_is_down_then_delivered(
        smtp, store, project, sqlite_url, run_notifier):
    smtp.stop()
    conf = make_conf(sqlite_url, smtp_port=smtp.port)
    sub = subscribe(store, project, 'q', 'mailto:ops@example.org')
    post(store, project, 'q', 3)
    run_notifier(conf, store)
    down = wait_until(
        lambda: store.get_subscription(project, 'q', sub.id).failures >= 2,
        what='failed attempts while SMTP is down')
    assert down
    assert 'SMTP' in store.get_subscription(project, 'q', sub.id).last_error
    smtp.start()
    mails = smtp.wait_for(3)
    assert ['"seq": %d' % i in m.text for i, m in enumerate(mails)] == \
        [True] * 3
    state = wait_until(lambda: (lambda s: s if s.failures == 0 and
                                s.last_success else None)(
        store.get_subscription(project, 'q', sub.id)))
    assert state.last_success >= state.last_error_at


def test_an_unconfirmed_mail_subscriber_gets_a_confirmation_mail_only(
        smtp, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, smtp_port=smtp.port,
                     require_confirmation=True,
                     public_endpoint='https://bridge.example.org')
    sub = store.create_subscription(project, 'q', 'mailto:ops@example.org',
                                    ttl=3600, options={}, secret='k',
                                    confirmed=False)
    post(store, project, 'q', 2)
    run_notifier(conf, store)
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ['ops@example.org']
    assert mail.subject == 'Confirm your subscription to queue q'
    assert ('PUT https://bridge.example.org/v2/queues/q/subscriptions/%s/'
            'confirm' % sub.id) in mail.text
    wait_until(lambda: store.get_subscription(project, 'q', sub.id)
               .confirmation_sent, what='confirmation_sent')
    assert len(smtp.received()) == 1
