"""Who may hold a live event connection, and for how long.

A browser opens ``/ws/events/`` with its session cookie. A client that
authenticates with an API token cannot put the token in the websocket URL,
where access logs would keep it, so it first trades the token for a ticket
(``POST /api/realtime/ticket``): a random string that opens one connection
within a few seconds and is worthless afterwards.

A connection is closed again when its user logs out or is deactivated: both
send ``session.revoked`` to the user's group, and each consumer decides
whether the message concerns it.
"""

import functools
import json
import logging
import secrets
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.broadcast import group_name

logger = logging.getLogger(__name__)

TICKET_KEY_PREFIX = "flow_api:realtime-ticket:"


@dataclass(frozen=True)
class Holder:
    """Whom a connection speaks for.

    ``session_key`` is the login session the connection belongs to, so that
    logging out of it closes the connection; it is empty for a ticket issued
    to a client that authenticated with an API token.
    """

    user_id: int
    session_key: str = ""


# Tickets live in Redis rather than in a table. The websocket cannot work
# without Redis anyway (it carries the channel layer), every web process
# reaches the same server, SET with EX lets a ticket expire on its own with
# nothing to prune, and GETDEL reads and removes it in one atomic step, so of
# two connections racing with the same ticket exactly one gets it.
@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def issue_ticket(holder: Holder) -> str:
    ticket = secrets.token_urlsafe(32)
    value = json.dumps({"user": holder.user_id, "session": holder.session_key})
    _redis(settings.REDIS_URL).set(
        TICKET_KEY_PREFIX + ticket, value, ex=settings.REALTIME_TICKET_SECONDS
    )
    return ticket


def redeem_ticket(ticket: str) -> Holder | None:
    """The holder ``ticket`` was issued to, once; None when it is unknown,
    expired or already redeemed."""
    if not ticket:
        return None
    value = _redis(settings.REDIS_URL).getdel(TICKET_KEY_PREFIX + ticket)
    if value is None:
        return None
    fields = json.loads(value)
    return Holder(user_id=int(fields["user"]), session_key=str(fields["session"]))


def holder_is_valid(holder: Holder) -> bool:
    """Whether the user is still active and, for a connection bound to a login
    session, whether that session is still the user's (not logged out, not
    expired)."""
    users = get_user_model().objects
    if not users.filter(pk=holder.user_id, is_active=True).exists():
        return False
    if not holder.session_key:
        return True
    engine = import_module(settings.SESSION_ENGINE)
    session: SessionBase = engine.SessionStore(holder.session_key)
    return str(session.get(SESSION_KEY)) == str(holder.user_id)


def revoke(user_id: int, session_key: str = "") -> None:
    """Close the user's live connections: those of ``session_key`` when it is
    given, all of them otherwise.

    Sent to the user's group, so it reaches connections held by any web
    process. A failure is logged rather than raised: the logout or the
    deactivation that asked for it has happened regardless.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "session.revoked", "session_key": session_key}
    try:
        async_to_sync(layer.group_send)(group_name(user_id), message)
    except Exception:
        logger.warning(
            "Could not close the live connections of user %s", user_id, exc_info=True
        )


@receiver(user_logged_out, dispatch_uid="notifications.realtime.logged_out")
def _close_on_logout(
    sender: object,
    request: HttpRequest | None,
    user: AbstractBaseUser | None,
    **kwargs: Any,
) -> None:
    if user is None or user.pk is None:
        return
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None) or ""
    # Without a session there is nothing to narrow the logout to, and closing
    # every connection is the safe side.
    revoke(user.pk, session_key)


@receiver(
    post_save,
    sender=settings.AUTH_USER_MODEL,
    dispatch_uid="notifications.realtime.deactivated",
)
def _close_on_deactivation(
    sender: type[AbstractBaseUser], instance: AbstractBaseUser, **kwargs: Any
) -> None:
    if instance.is_active:
        return
    user_id = instance.pk
    # Only once the deactivation is committed: a browser whose connection was
    # closed earlier could reconnect before the commit and still be let in.
    transaction.on_commit(lambda: revoke(user_id))


class TicketSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid.")


class TicketView(APIView):
    """Issue a single-use ticket that opens one ``/ws/events/?ticket=...``."""

    @extend_schema(request=None, responses=TicketSerializer)
    def post(self, request: Request) -> Response:
        ticket = issue_ticket(_holder_of(request))
        return Response(
            {"ticket": ticket, "expires_in": settings.REALTIME_TICKET_SECONDS}
        )


def _holder_of(request: Request) -> Holder:
    user_id = request.user.pk
    # The view's permission lets only authenticated users in.
    assert user_id is not None
    # A ticket asked for with the session cookie belongs to that session, so
    # that logging out closes the connection it opens, as it closes the
    # cookie's own connections. A token holder has no session to end.
    session_key = ""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        session_key = request.session.session_key or ""
    return Holder(user_id=user_id, session_key=session_key)
