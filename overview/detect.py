"""Detection: what changed in a user's CRM since the worker last looked.

Detection reads the rows whose ``updated_at`` falls in the run's window, plus a
few seconds of overlap before it, and compares each with the snapshot of the
fields the analysis last saw. A row equal to its snapshot was already reported
and is dropped; a row that committed late with an older ``updated_at`` is still
caught by the overlap. The number of queries does not depend on the number of
changed rows.
"""

import datetime
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Model, Q, QuerySet

from crm.forecast import compute_forecast
from crm.models import CalendarEvent, Contact, Deal
from overview.changes import (
    OBSERVER_ENTITY,
    Changes,
    ChangeType,
    EntityChange,
    EntityType,
    FieldChange,
)
from overview.models import EntitySnapshot, OverviewWorkerState

logger = logging.getLogger(__name__)

# At most this many changes of each type are loaded and shown to the analysis;
# the run still reports how many there were.
MAX_PER_TYPE = 100

MODELS: dict[EntityType, type[Model]] = {
    "contact": Contact,
    "deal": Deal,
    "event": CalendarEvent,
}


def _plain(value: Any) -> Any:
    """A field's value in the form a JSON snapshot keeps it."""
    if isinstance(value, Decimal):
        # 50000.00 and 50000 are the same amount; keep diffs free of noise.
        if value == value.to_integral():
            return format(value.to_integral(), "f")
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def tracked_fields(entity_type: EntityType, row: Any) -> dict[str, Any]:
    """The fields of ``row`` that the analysis sees and that diffs compare."""
    if entity_type == "contact":
        fields = {
            "name": row.name,
            "company": row.company,
            "email": row.email,
            "health_score": row.health_score,
            "sentiment": row.sentiment,
            "churn_risk": row.churn_risk,
        }
    elif entity_type == "deal":
        fields = {
            "title": row.title,
            "company": row.company,
            "value": row.value,
            "currency": row.currency,
            "stage": row.stage,
            "probability": row.probability,
            "expected_close_date": row.expected_close_date,
            "contact": row.contact.name if row.contact_id else None,
        }
    else:
        fields = {
            "title": row.title,
            "type": row.type,
            "start_time": row.start_time,
            "end_time": row.end_time,
            "status": row.status,
            "deal": row.deal.title if row.deal_id else None,
            "contact": row.contact.name if row.contact_id else None,
        }
    fields["deleted"] = row.deleted_at is not None
    return {name: _plain(value) for name, value in fields.items()}


def label_of(entity_type: EntityType, fields: dict[str, Any]) -> str:
    return str(fields["name"] if entity_type == "contact" else fields["title"])


def _rows(entity_type: EntityType, user_id: int) -> QuerySet[Any]:
    queryset = MODELS[entity_type].objects.filter(user_id=user_id)  # type: ignore[attr-defined]
    if entity_type == "deal":
        queryset = queryset.select_related("contact")
    elif entity_type == "event":
        queryset = queryset.select_related("deal", "contact")
    return queryset.order_by("-updated_at")  # type: ignore[no-any-return]


def _snapshots(
    user_id: int, rows: Iterable[tuple[EntityType, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    wanted = Q(pk__in=[])
    by_type: dict[str, list[Any]] = {}
    for kind, row in rows:
        by_type.setdefault(kind, []).append(row.pk)
    for type_name, ids in by_type.items():
        wanted |= Q(entity_type=type_name, entity_id__in=ids)
    if not by_type:
        return {}
    found = EntitySnapshot.objects.filter(Q(user_id=user_id) & wanted)
    return {
        (snapshot.entity_type, str(snapshot.entity_id)): snapshot.fields
        for snapshot in found
    }


def _change(
    entity_type: EntityType,
    row: Any,
    snapshot: dict[str, Any] | None,
    since: datetime.datetime,
) -> EntityChange | None:
    fields = tracked_fields(entity_type, row)
    if snapshot == fields:
        return None

    change_type: ChangeType
    if fields["deleted"]:
        change_type = "deleted"
    elif row.inserted_at > since and snapshot is None:
        change_type = "new"
    else:
        change_type = "updated"

    diff: tuple[FieldChange, ...] = ()
    if snapshot is not None:
        diff = tuple(
            FieldChange(name, snapshot.get(name), value)
            for name, value in fields.items()
            if name != "deleted" and snapshot.get(name) != value
        )
    return EntityChange(
        entity_type=entity_type,
        entity_id=str(row.pk),
        change_type=change_type,
        label=label_of(entity_type, fields),
        fields=fields,
        diff=diff,
        updated_at=row.updated_at,
    )


def detect(state: OverviewWorkerState, until: datetime.datetime) -> Changes:
    """The changes in ``state.user``'s observed CRM up to ``until``.

    ``until`` is the moment detection starts; it becomes the next watermark,
    so anything written after it belongs to the next run.
    """
    since = state.last_run_at
    overlap = since - datetime.timedelta(seconds=settings.OVERVIEW_DETECTION_OVERLAP)

    loaded: list[tuple[EntityType, Any]] = []
    after_watermark: dict[EntityType, int] = {}
    for observer in state.observers:
        entity_type = OBSERVER_ENTITY[observer]
        rows = _rows(entity_type, state.user_id)
        # The overlap is a few seconds wide, so reading all of it stays small.
        loaded += [
            (entity_type, row)
            for row in rows.filter(updated_at__gt=overlap, updated_at__lte=since)
        ]
        window = rows.filter(updated_at__gt=since, updated_at__lte=until)
        recent = list(window[:MAX_PER_TYPE])
        after_watermark[entity_type] = window.count()
        loaded += [(entity_type, row) for row in recent]

    snapshots = _snapshots(state.user_id, loaded)
    found: dict[EntityType, list[EntityChange]] = {t: [] for t in MODELS}
    unchanged_recent: dict[EntityType, int] = dict.fromkeys(MODELS, 0)
    for entity_type, row in loaded:
        change = _change(
            entity_type, row, snapshots.get((entity_type, str(row.pk))), since
        )
        if change is not None:
            found[entity_type].append(change)
        elif row.updated_at > since:
            unchanged_recent[entity_type] += 1

    totals = {}
    for observer in state.observers:
        entity_type = OBSERVER_ENTITY[observer]
        overlap_changes = sum(
            1 for change in found[entity_type] if change.updated_at <= since
        )
        totals[observer] = (
            after_watermark[entity_type]
            - unchanged_recent[entity_type]
            + overlap_changes
        )
        found[entity_type] = found[entity_type][:MAX_PER_TYPE]

    changes = Changes(
        since=since,
        until=until,
        forecast=compute_forecast(state.user),
        contacts=found["contact"],
        deals=found["deal"],
        events=found["event"],
        totals=totals,
    )
    logger.debug(
        "Detected %s for user %s between %s and %s",
        totals,
        state.user_id,
        since.isoformat(),
        until.isoformat(),
    )
    return changes


def baseline(user_id: int, observers: Iterable[str]) -> list[EntitySnapshot]:
    """Snapshots of every live entity, so that the first run can show diffs."""
    snapshots = []
    for observer in observers:
        entity_type = OBSERVER_ENTITY[observer]
        for row in _rows(entity_type, user_id).filter(deleted_at__isnull=True):
            snapshots.append(
                EntitySnapshot(
                    user_id=user_id,
                    entity_type=entity_type,
                    entity_id=row.pk,
                    fields=tracked_fields(entity_type, row),
                )
            )
    return snapshots
