"""Sending logged events to a user's open browser tabs over the channel layer."""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from notifications.models import Event

logger = logging.getLogger(__name__)


def group_name(user_id: int) -> str:
    return f"user.{user_id}"


async def _send(events: list[Event]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for event in events:
        await layer.group_send(
            group_name(event.user_id), {"type": "event.message", **event.as_message()}
        )


def broadcast(events: Iterable[Event]) -> None:
    """Push ``events`` to their users' groups.

    The events are already in the log, so a browser that misses one here
    catches up from the log when it reconnects; a failure is logged, not raised.
    """
    events = list(events)
    if not events:
        return
    try:
        async_to_sync(_send)(events)
    except Exception:
        logger.warning("Could not broadcast %d events", len(events), exc_info=True)
