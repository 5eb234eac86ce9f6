"""Changes built in memory, for analysis tests that need no database.

The fields have the JSON-ready shape detection gives them: amounts and dates
as strings, levels and stages as their stored values.
"""

import datetime
import uuid
from decimal import Decimal
from typing import Any

from crm.forecast import Forecast
from overview.changes import (
    Changes,
    ChangeType,
    EntityChange,
    EntityType,
    FieldChange,
)

NOW = datetime.datetime(2025, 3, 14, 9, 30, tzinfo=datetime.UTC)

DEFAULT_FIELDS: dict[EntityType, dict[str, Any]] = {
    "deal": {
        "title": "Acme renewal",
        "company": "Acme",
        "value": "50000",
        "currency": "USD",
        "stage": "proposal",
        "probability": 50,
        "expected_close_date": "2025-03-28",
        "contact": "Jane Doe",
    },
    "contact": {
        "name": "Jane Doe",
        "company": "Acme",
        "email": "jane@acme.example",
        "health_score": 80,
        "sentiment": "medium",
        "churn_risk": "low",
    },
    "event": {
        "title": "Acme quarterly review",
        "type": "meeting",
        "start_time": "2025-03-20T14:00:00+00:00",
        "end_time": "2025-03-20T15:00:00+00:00",
        "status": "scheduled",
        "deal": "Acme renewal",
        "contact": "Jane Doe",
    },
}
LABEL_FIELD: dict[EntityType, str] = {
    "deal": "title",
    "contact": "name",
    "event": "title",
}


def forecast(**fields: Any) -> Forecast:
    values: dict[str, Any] = {
        "total_pipeline": Decimal("250000.00"),
        "weighted_forecast": Decimal("112500.00"),
        "closing_this_month": Decimal("80000.00"),
        "closing_this_month_count": 2,
        "won_this_month": Decimal("30000.00"),
        "open_deals": 7,
    }
    return Forecast(**{**values, **fields})


def change(
    entity_type: EntityType,
    change_type: ChangeType = "updated",
    *,
    moved: dict[str, tuple[Any, Any]] | None = None,
    entity_id: str | None = None,
    minutes_ago: int = 5,
    **fields: Any,
) -> EntityChange:
    """A change to one entity; ``moved`` maps a field to its (old, new) values."""
    moved = moved or {}
    now = {**DEFAULT_FIELDS[entity_type], **fields}
    now.update({name: new for name, (_, new) in moved.items()})
    now["deleted"] = change_type == "deleted"
    return EntityChange(
        entity_type=entity_type,
        entity_id=entity_id or str(uuid.uuid4()),
        change_type=change_type,
        label=str(now[LABEL_FIELD[entity_type]]),
        fields=now,
        diff=tuple(FieldChange(name, old, new) for name, (old, new) in moved.items()),
        updated_at=NOW - datetime.timedelta(minutes=minutes_ago),
    )


def deal(change_type: ChangeType = "updated", **options: Any) -> EntityChange:
    return change("deal", change_type, **options)


def contact(change_type: ChangeType = "updated", **options: Any) -> EntityChange:
    return change("contact", change_type, **options)


def event(change_type: ChangeType = "updated", **options: Any) -> EntityChange:
    return change("event", change_type, **options)


def changes(*rows: EntityChange, not_loaded: int = 0) -> Changes:
    """The changes of one run holding ``rows``, plus ``not_loaded`` unseen ones."""
    by_type: dict[str, list[EntityChange]] = {"deal": [], "contact": [], "event": []}
    for row in rows:
        by_type[row.entity_type].append(row)
    totals = {
        "deals": len(by_type["deal"]) + not_loaded,
        "contacts": len(by_type["contact"]),
        "events": len(by_type["event"]),
    }
    return Changes(
        since=NOW - datetime.timedelta(minutes=15),
        until=NOW,
        forecast=forecast(),
        deals=by_type["deal"],
        contacts=by_type["contact"],
        events=by_type["event"],
        totals=totals,
    )


def no_changes() -> Changes:
    return changes()
