"""``bridge-manage quota set|show|list|delete``: per-project quota
overrides, stored in storage so every bridge process applies them (each
API process within ``[quotas] refresh_seconds``)."""

from __future__ import annotations

from typing import Any, TextIO

from bridge import quotas
from bridge.storage import base

_WIDTH = max(len(name) for name in quotas.RESOURCES)


def _shown(limit: int) -> str:
    return 'unlimited' if limit == 0 else str(limit)


def show(store: base.Storage, conf: Any, project: str, out: TextIO) -> None:
    overrides = store.get_quotas(project)
    print('Quotas of project %s:' % project, file=out)
    for name, limit in quotas.effective(quotas.defaults(conf),
                                        overrides).items():
        source = 'override' if name in overrides else 'default'
        print('  %-*s  %-10s (%s)' % (_WIDTH, name, _shown(limit), source),
              file=out)


def list_(store: base.Storage, conf: Any, out: TextIO) -> None:
    default = quotas.defaults(conf)
    print('Defaults ([quotas]): %s' % ', '.join(
        '%s %s' % (name, _shown(limit)) for name, limit in default.items()),
        file=out)
    overrides = store.list_quotas()
    if not overrides:
        print('No project overrides.', file=out)
        return
    print('Project overrides:', file=out)
    for project, limits in overrides.items():
        print('  %s  %s' % (project, ', '.join(
            '%s %s' % (name, _shown(limit))
            for name, limit in sorted(limits.items()))), file=out)


def set_(store: base.Storage, project: str, resource: str, limit: int,
         out: TextIO) -> None:
    store.set_quota(project, resource, limit)
    print('Quota of project %s: %s %s' % (project, resource, _shown(limit)),
          file=out)


def delete(store: base.Storage, project: str, resource: str | None,
           out: TextIO) -> None:
    store.delete_quota(project, resource)
    print('Project %s now uses the default for %s'
          % (project, resource or 'every resource'), file=out)
