"""Who is calling: ``noauth`` for development, ``keystone`` for production.

* ``noauth`` trusts the ``X-Project-Id`` header (missing -> 400) and takes
  roles from ``X-Roles``. Never expose it beyond a trusted network.
* ``keystone`` puts keystonemiddleware's ``auth_token`` in front of the
  application (configured from ``[keystone_authtoken]`` of the same
  configuration). A request without a valid token gets its 401 and never
  reaches bridge. The project and roles come ONLY from the validated token
  (``keystone.token_auth`` in the WSGI environment); no client header is
  read for them, and a request whose ``X-Identity-Status`` (set by
  auth_token, which strips any client copy) is not ``Confirmed`` is refused.

The version list at ``/`` is public in both modes, as in every OpenStack
service. A request presenting a pre-signed URL (``URL-Signature``) skips
auth_token too, as in Zaqar: its signature alone decides
(:mod:`bridge.signed_urls`, checked by :class:`bridge.api.hooks.Gate`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Protocol

import falcon
from oslo_config import cfg

from bridge import signed_urls
from bridge.api import errors
from bridge.api import validation

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclasses.dataclass(frozen=True)
class Identity:
    project: str
    roles: list[str]
    user_id: str | None = None


class Identifier(Protocol):
    def __call__(self, req: falcon.Request) -> Identity: ...


def _split_roles(value: str | None) -> list[str]:
    return [r.strip() for r in value.split(',') if r.strip()] if value else []


def noauth_identity(req: falcon.Request) -> Identity:
    """Development mode: the caller says who it is."""
    return Identity(project=validation.project_id(req.get_header('X-Project-Id')),
                    roles=_split_roles(req.get_header('X-Roles')),
                    user_id=req.get_header('X-User-Id'))


def keystone_identity(req: falcon.Request) -> Identity:
    """Production mode: the identity auth_token validated, nothing else."""
    env = req.env
    token = env.get('keystone.token_auth')
    if (env.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed' or token is None
            or not token.has_user_token):
        raise errors.Unauthorized('A valid Keystone token is required.')
    user = token.user
    if not user.project_id:
        raise errors.Forbidden('A project-scoped token is required.')
    return Identity(project=validation.project_id(user.project_id),
                    roles=list(user.role_names or ()),
                    user_id=user.user_id)


def identifier(conf: cfg.ConfigOpts) -> Identifier:
    if conf.auth_strategy == 'keystone':
        return keystone_identity
    return noauth_identity


class _PublicRoot:
    """Serves ``/`` (the version list) and pre-signed requests without a
    token; everything else goes through the authenticated pipeline."""

    def __init__(self, app: WSGIApp, protected: WSGIApp) -> None:
        self._app = app
        self._protected = protected

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get('PATH_INFO', '') in ('', '/') or \
                signed_urls.is_signed(environ):
            return self._app(environ, start_response)
        return self._protected(environ, start_response)


def install(app: WSGIApp, conf: cfg.ConfigOpts) -> WSGIApp:
    """The WSGI pipeline for ``[DEFAULT] auth_strategy``."""
    if conf.auth_strategy != 'keystone':
        return app
    from keystonemiddleware import auth_token
    protected = auth_token.AuthProtocol(app, {'oslo_config_config': conf})
    return _PublicRoot(app, protected)
