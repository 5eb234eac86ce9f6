"""Execution: turn a validated analysis into effects, in the caller's transaction.

Everything here runs inside the one transaction that also records the run and
moves the watermark, so a run either happens entirely or not at all. What the
browser should hear about is written to the user's event log here and sent
only after that transaction commits.
"""

import datetime
import logging
from typing import Any

from django.db.models import Q
from django.utils import timezone

from crm.forecast import store_if_changed
from notifications.models import (
    ActionItem,
    CreatedBy,
    Event,
    EventKind,
    Notification,
    normalise_title,
)
from overview.analysis.schema import AddActionItem, Analysis, RemoveActionItem
from overview.changes import Changes
from overview.models import EntitySnapshot, OverviewRun

logger = logging.getLogger(__name__)


def notification_data(notification: Notification) -> dict[str, Any]:
    return {
        "id": str(notification.pk),
        "type": notification.type,
        "priority": notification.priority,
        "title": notification.title,
        "message": notification.message,
        "created_at": notification.created_at.isoformat(),
        "read_at": None,
    }


def item_data(item: ActionItem) -> dict[str, Any]:
    return {
        "id": str(item.pk),
        "icon": item.icon,
        "title": item.title,
        "item_type": item.item_type,
        "created_by": item.created_by,
        "created_at": item.created_at.isoformat(),
    }


def retire_items(
    user_id: int, removals: list[RemoveActionItem], now: datetime.datetime
) -> list[ActionItem]:
    """Retire the user's open items that the worker created and a pattern names.

    ``icontains`` escapes LIKE's wildcards, so a pattern of ``%`` or ``_``
    matches only titles that contain those characters.
    """
    if not removals:
        return []
    named = Q(pk__in=[])
    for removal in removals:
        named |= Q(title__icontains=removal.pattern)
    items = list(
        ActionItem.objects.filter(
            named,
            user_id=user_id,
            created_by=CreatedBy.WORKER,
            dismissed=False,
            retired_at__isnull=True,
        )
    )
    if items:
        ActionItem.objects.filter(pk__in=[item.pk for item in items]).update(
            retired_at=now
        )
    return items


def add_items(
    user_id: int, additions: list[AddActionItem], run: OverviewRun
) -> list[ActionItem]:
    """Add the items that the user does not already have open."""
    wanted: dict[str, AddActionItem] = {}
    for addition in additions:
        wanted.setdefault(normalise_title(addition.title), addition)
    if not wanted:
        return []
    already_open = set(
        ActionItem.objects.filter(
            user_id=user_id,
            normalised_title__in=list(wanted),
            dismissed=False,
            retired_at__isnull=True,
        ).values_list("normalised_title", flat=True)
    )
    items = [
        ActionItem(
            user_id=user_id,
            icon=addition.icon,
            title=addition.title,
            normalised_title=key,
            item_type=addition.item_type,
            created_by=CreatedBy.WORKER,
            run=run,
        )
        for key, addition in wanted.items()
        if key not in already_open
    ]
    return ActionItem.objects.bulk_create(items)


def store_notifications(
    user_id: int, analysis: Analysis, run: OverviewRun
) -> list[Notification]:
    unique = {(n.type, n.title, n.message): n for n in analysis.notifications}
    return Notification.objects.bulk_create(
        Notification(
            user_id=user_id,
            type=draft.type,
            priority=draft.priority,
            title=draft.title,
            message=draft.message,
            run=run,
        )
        for draft in unique.values()
    )


def save_snapshots(user_id: int, changes: Changes, now: datetime.datetime) -> None:
    EntitySnapshot.objects.bulk_create(
        [
            EntitySnapshot(
                user_id=user_id,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                fields=change.fields,
                seen_at=now,
            )
            for change in changes.all
        ],
        update_conflicts=True,
        unique_fields=["user", "entity_type", "entity_id"],
        update_fields=["fields", "seen_at"],
    )


def execute(
    run: OverviewRun, changes: Changes, analysis: Analysis
) -> tuple[dict[str, Any], list[Event]]:
    """Apply ``analysis`` for ``run.user``; return what was done and the events.

    The caller owns the transaction and records the run.
    """
    user_id = run.user_id
    now = timezone.now()

    retired = retire_items(user_id, analysis.removals, now)
    added = add_items(user_id, analysis.additions, run)
    notifications = store_notifications(user_id, analysis, run)

    # The figures as they stood when detection read the window, so that the
    # snapshot agrees with the watermark. Only a change of the figures makes a
    # new snapshot; the model's should_update still announces them.
    forecast = changes.forecast
    snapshot = store_if_changed(run.user, forecast)
    forecast_updated = snapshot is not None or analysis.forecast_impact.should_update

    save_snapshots(user_id, changes, now)

    events = [
        Event(user_id=user_id, event=EventKind.NOTIFICATION, data=notification_data(n))
        for n in notifications
    ]
    if added or retired:
        events.append(
            Event(
                user_id=user_id,
                event=EventKind.ACTION_ITEMS_CHANGED,
                data={
                    "added": [item_data(item) for item in added],
                    "removed": [str(item.pk) for item in retired],
                },
            )
        )
    if forecast_updated:
        events.append(
            Event(
                user_id=user_id,
                event=EventKind.FORECAST_UPDATED,
                data={
                    "forecast": forecast.as_json(),
                    "changed": snapshot is not None,
                    "reason": analysis.forecast_impact.reason,
                },
            )
        )

    actions = {
        "forecast_updated": forecast_updated,
        "forecast_snapshot": snapshot.pk if snapshot else None,
        "forecast_reason": analysis.forecast_impact.reason,
        "action_items_added": [item.title for item in added],
        "action_items_removed": [item.title for item in retired],
        "notifications": [n.title for n in notifications],
        "insights": [insight.model_dump() for insight in analysis.insights],
    }
    events.append(
        Event(
            user_id=user_id,
            event=EventKind.RUN_FINISHED,
            data={
                "run": run.pk,
                "outcome": "succeeded",
                "changes": changes.counts()["total"],
                "notifications": len(notifications),
                "action_items_added": len(added),
                "action_items_removed": len(retired),
                "forecast_updated": forecast_updated,
            },
        )
    )
    return actions, Event.objects.bulk_create(events)
