"""Translation: OpenStack notifications into tenant queue messages.

Pure functions over dicts, driven by a YAML rules file operators edit
(default: ``etc/bridge/rules.yaml``, shipped in this package as
``default_rules.yaml``). The listener calls :func:`translate` once per
notification, with the owners the ownership index holds for the batch
(looked up beforehand, see :func:`.ownership.index_key`); the only I/O
here is :func:`load_rules` reading the file.

Modules, one concept each:

* :mod:`.model`: ``Notification`` in; ``Routed``, ``Dropped`` or
  ``Unroutable`` out.
* :mod:`.rules`: loading and validating the rules file into
  :mod:`.ruleset` objects.
* :mod:`.tenant`: owner resolution (the project that owns the resource).
* :mod:`.ownership`: the resource an event is about, as the key of the
  ownership index, and what an event teaches that index.
* :mod:`.routing`: queue choice, drop rules, queue name sanitizing.
* :mod:`.allowlist`: allow-list paths, compiled into a tree.
* :mod:`.tenantview`: what a tenant sees of a payload (allow-list, then
  :mod:`.redaction`'s deny-list, free text through :mod:`.scrub`).
* :mod:`.body`: the documented, versioned tenant message body.
* :mod:`.pipeline`: :func:`translate`, the whole pipeline.
"""

from bridge.translation.body import BODY_VERSION
from bridge.translation.model import Dropped, Notification, Routed, Unroutable
from bridge.translation.routing import sanitize_queue_name
from bridge.translation.rules import (RulesError, default_rules_path,
                                      load_rules, parse_rules)
from bridge.translation.ruleset import Rules
from bridge.translation.pipeline import translate

__all__ = [
    'BODY_VERSION', 'Dropped', 'Notification', 'Routed', 'Rules',
    'RulesError', 'Unroutable', 'default_rules_path', 'load_rules',
    'parse_rules', 'sanitize_queue_name', 'translate',
]
