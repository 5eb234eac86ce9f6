"""The websocket that keeps a user's browser tabs current, at ``/ws/events/``.

Authentication: the session cookie, or ``?ticket=`` with a ticket from
``POST /api/realtime/ticket``; when a ticket is given, it alone decides. A
connection that is neither, whose ticket is unknown, expired or already used,
or whose user is inactive, is accepted and at once closed with 4401, so that
the browser sees the code rather than a failed handshake.

Messages are JSON text, one per event in the user's log::

    {"id": 812, "event": "notification", "data": {...}}

``id`` is the event's id in the log, and on one connection ids only increase,
so the last id a client saw is where it resumes: ``?since=812`` first replays
the user's logged events after 812, oldest first, then goes on live, with no
event missing or repeated in between. A replay sends at most ``REPLAY_LIMIT``
events; when more are waiting it is followed by

    {"id": null, "event": "replay_truncated", "data": {"last_id": 1312, ...}}

and the connection goes on live from there. The client then either reloads
its view over the REST API, or reconnects with ``since`` set to ``last_id`` for
the next page. A ``since`` that is not a whole number closes with 4400.

Logging out of the session a connection belongs to, or deactivating its user,
closes it with 4401. Messages from the client are ignored.
"""

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from notifications.broadcast import group_name
from notifications.models import Event
from notifications.realtime import Holder, holder_is_valid, redeem_ticket

logger = logging.getLogger(__name__)

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORISED = 4401
REPLAY_LIMIT = 500

# Eighteen digits at most, so that any value fits the id column.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def read_log(user_id: int, since: int, limit: int) -> list[dict[str, object]]:
    """The user's logged events after ``since``, oldest first, at most ``limit``."""
    events = Event.objects.filter(user_id=user_id, id__gt=since).order_by("id")
    return [event.as_message() for event in events[:limit]]


class EventsConsumer(AsyncWebsocketConsumer):
    holder: Holder | None = None
    group: str | None = None
    # The highest event id this connection has sent. A user's events are
    # written by their runs, one run at a time, so they are broadcast in id
    # order, and a live message at or below this one was already sent by the
    # replay.
    last_sent = 0

    async def connect(self) -> None:
        params = parse_qs(
            self.scope["query_string"].decode("latin-1"), keep_blank_values=True
        )
        holder = await self._identify(params)
        if holder is None:
            await self._refuse(CLOSE_UNAUTHORISED)
            return

        since: int | None = None
        if "since" in params:
            if not _WHOLE_NUMBER.fullmatch(params["since"][0]):
                await self._refuse(CLOSE_BAD_REQUEST)
                return
            since = int(params["since"][0])

        # The group is joined before the holder is checked and before the log
        # is read. A logout or deactivation after this point reaches the
        # connection through the group; one before it is seen by the check.
        # Channels hands a consumer one message at a time, so whatever the
        # group receives while connect() runs waits in this channel's queue
        # until the replay is out, and is then dropped if the replay sent it.
        self.group = group_name(holder.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if not await database_sync_to_async(holder_is_valid)(holder):
            await self._refuse(CLOSE_UNAUTHORISED)
            return

        self.holder = holder
        await self.accept()
        if since is not None:
            await self._replay(holder.user_id, since)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def event_message(self, message: dict[str, Any]) -> None:
        """A live event from ``notifications.broadcast``."""
        await self._send_event(
            {"id": message["id"], "event": message["event"], "data": message["data"]}
        )

    async def session_revoked(self, message: dict[str, Any]) -> None:
        """A logout (of one session, or of all when none is named) or a
        deactivation of the connection's user."""
        if self.holder is None:
            return
        session_key = message.get("session_key", "")
        if session_key and session_key != self.holder.session_key:
            return
        logger.debug("Closing a live connection of user %s", self.holder.user_id)
        self.holder = None
        await self.close(code=CLOSE_UNAUTHORISED)

    async def _identify(self, params: dict[str, list[str]]) -> Holder | None:
        if "ticket" in params:
            return await sync_to_async(redeem_ticket, thread_sensitive=False)(
                params["ticket"][0]
            )
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        session_key = self.scope["session"].session_key or ""
        return Holder(user_id=user.pk, session_key=session_key)

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def _replay(self, user_id: int, since: int) -> None:
        messages = await database_sync_to_async(read_log)(
            user_id, since, REPLAY_LIMIT + 1
        )
        for message in messages[:REPLAY_LIMIT]:
            await self._send_event(message)
        if len(messages) > REPLAY_LIMIT:
            notice = {"last_id": self.last_sent, "limit": REPLAY_LIMIT}
            await self._send({"id": None, "event": "replay_truncated", "data": notice})

    async def _send_event(self, message: dict[str, Any]) -> None:
        # After a revocation the connection is closing, and says nothing more.
        if self.holder is None or message["id"] <= self.last_sent:
            return
        self.last_sent = message["id"]
        await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))
