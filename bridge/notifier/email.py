"""Email delivery: one plain-text mail per message through the operator's
SMTP server (``[smtp]`` options).

Each send opens its own SMTP session (SMTPS with ``ssl``, or plain with an
optional STARTTLS upgrade; LOGIN when ``username`` is set) with the
notifier's connect timeout, then the read timeout for every answer.
Results are classified, never raised:

* accepted: delivered;
* cannot connect, timeout, disconnect, or a 4xx answer: retry;
* a 5xx answer to the recipient or the message: final;
* a failure of bridge's own session (login, sender, TLS): retry, since it
  is the operator's configuration, not the subscriber, that is wrong.
"""

from __future__ import annotations

import email.message
import email.utils
import json
import smtplib
import ssl
from typing import Any

from bridge.notifier import result as res


def subject_for(options_subject: Any, url_subject: str | None,
                event_type: str | None, queue: str) -> str:
    """The subscription's ``options.subject``, else the mailto URL's
    ``?subject=``, else ``<event_type> on queue <queue>``."""
    for subject in (options_subject, url_subject):
        if isinstance(subject, str) and subject.strip():
            return ' '.join(subject.split())  # no header injection
    if event_type:
        return '%s on queue %s' % (event_type, queue)
    return 'Message on queue %s' % queue


def text_body(queue: str, message_id: str, body: Any) -> str:
    """The readable mail text: event type, queue, message id, then the
    message body as indented JSON."""
    event_type = body.get('event_type') if isinstance(body, dict) else None
    lines = ['Event type: %s' % (event_type or '-'),
             'Queue: %s' % queue,
             'Message id: %s' % message_id,
             '',
             json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False,
                        default=str),
             '']
    return '\n'.join(lines)


def build_message(sender: str, recipient: str, subject: str,
                  text: str) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg['From'] = sender
    msg['To'] = recipient
    msg['Subject'] = subject
    msg['Date'] = email.utils.formatdate(localtime=False)
    msg['Message-ID'] = email.utils.make_msgid(domain='bridge')
    msg.set_content(text)
    return msg


class EmailSender:
    """Sends mails through ``[smtp]``; thread safe (no shared state)."""

    def __init__(self, smtp_opts: Any, *, connect_timeout: float,
                 read_timeout: float) -> None:
        self.host = smtp_opts.host
        self.port = smtp_opts.port
        self.use_ssl = smtp_opts.ssl
        self.starttls = smtp_opts.starttls
        self.username = smtp_opts.username
        self.password = smtp_opts.password
        self.sender = smtp_opts.sender
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def deliver(self, recipient: str, subject: str,
                text: str) -> res.Result:
        msg = build_message(self.sender, recipient, subject, text)
        try:
            smtp = self._connect()
        except smtplib.SMTPResponseException as exc:
            return res.retry('SMTP server refused the session: %d %s'
                             % (exc.smtp_code, _text(exc.smtp_error)))
        except (OSError, smtplib.SMTPException) as exc:
            return res.retry('cannot reach SMTP server %s:%s: %s'
                             % (self.host, self.port, exc))
        try:
            return self._send(smtp, msg, recipient)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port,
                                    timeout=self.connect_timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port,
                                timeout=self.connect_timeout)
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(self.read_timeout)
            smtp.ehlo_or_helo_if_needed()
            if self.starttls and not self.use_ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or '')
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send(self, smtp: smtplib.SMTP, msg: email.message.EmailMessage,
              recipient: str) -> res.Result:
        try:
            refused = smtp.send_message(msg, self.sender, [recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (550, b''))
            return _by_code('recipient refused', code, text)
        except smtplib.SMTPSenderRefused as exc:
            return res.retry('sender %s refused: %d %s' % (
                self.sender, exc.smtp_code, _text(exc.smtp_error)))
        except smtplib.SMTPDataError as exc:
            return _by_code('message refused', exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPResponseException as exc:
            return _by_code('SMTP error', exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            return res.retry('SMTP session failed: %s' % exc)
        if recipient in refused:
            code, text = refused[recipient]
            return _by_code('recipient refused', code, text)
        return res.DELIVERED


def _by_code(what: str, code: int, text: bytes | str) -> res.Result:
    reason = '%s: %d %s' % (what, code, _text(text))
    return res.final(reason) if code >= 500 else res.retry(reason)


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    return ' '.join(value.split())[:300]
