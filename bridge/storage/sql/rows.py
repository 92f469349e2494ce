"""Converting message rows to :class:`~bridge.storage.models.Message`."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from bridge.storage import codec, models
from bridge.storage.sql.schema import messages

#: The columns every message read selects.
MESSAGE_COLUMNS = (
    messages.c.id, messages.c.body, messages.c.ttl, messages.c.created,
    messages.c.marker, messages.c.client_id, messages.c.claim_id,
    messages.c.claim_expires, messages.c.claim_count,
)


def active_claim(row: Any, now: float) -> str | None:
    """The id of the claim holding the row at ``now``, or None."""
    if row.claim_id is not None and row.claim_expires > now:
        return row.claim_id
    return None


def to_message(row: Any, now: float, **changes: Any) -> models.Message:
    """The Message a row holds at ``now``; ``changes`` override fields."""
    fields = {
        'id': row.id, 'body': codec.loaded_body(row.body), 'ttl': row.ttl,
        'created': row.created, 'marker': row.marker,
        'client_id': row.client_id, 'claim_id': active_claim(row, now),
        'claim_count': row.claim_count,
    }
    fields.update(changes)
    return models.Message(**fields)


#: Bodies are parsed JSON or built from it, so never circular.
_ENCODER = json.JSONEncoder(separators=(',', ':'), check_circular=False)


def dump_body(body: Any) -> str:
    """Serialise a body. ASCII escapes keep any Python string storable,
    lone surrogates included."""
    return _ENCODER.encode(body)


def unclaimed_and_visible(now_param: Any, table: Any = messages
                          ) -> sa.ColumnElement[bool]:
    """Rows a claim or a pop may take: visible, unexpired, unclaimed.
    ``table``: the messages table or an alias of it."""
    return sa.and_(table.c.visible_at <= now_param,
                   table.c.expires > now_param,
                   sa.or_(table.c.claim_id.is_(None),
                          table.c.claim_expires <= now_param))
