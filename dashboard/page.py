"""What the dashboard shows a signed-in user, gathered in one place.

The page is rendered whole once. After that the browser keeps it current from
the websocket, and asks again for the worker's status and the pending changes
as fragments of the same templates, so each of those has a function here.
"""

import datetime
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from crm.forecast import Forecast, compute_forecast
from crm.models import ForecastSnapshot
from notifications.api import ForecastSnapshotSerializer
from notifications.models import (
    ActionItem,
    Event,
    ItemType,
    Notification,
    NotificationType,
    Priority,
)
from overview import service
from overview.changes import EntityChange
from overview.detect import detect
from overview.models import (
    DEFAULT_COOLDOWN,
    OBSERVABLE,
    OverviewRun,
    OverviewWorkerState,
)

HISTORY = 30
NOTIFICATIONS = 30
ACTION_ITEMS = 50
CHANGES_SHOWN = 12
TITLES_SHOWN = 3

# The websocket's path, from notifications.routing; websocket routes are not
# part of the URLconf, so reverse() cannot find it.
EVENTS_PATH = "/ws/events/"

# Stands in for an id in the URLs handed to the script, which puts the real
# one in its place.
ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"

FIELD_LABELS = {
    "value": "value",
    "stage": "stage",
    "probability": "probability",
    "expected_close_date": "close date",
    "health_score": "health",
    "churn_risk": "churn risk",
    "start_time": "start",
    "end_time": "end",
}
CHOICE_FIELDS = {"stage", "status", "type", "sentiment", "churn_risk"}
TIME_FIELDS = {"start_time", "end_time"}


@dataclass(frozen=True)
class Outcome:
    """One line of what a run did, with the titles it concerned."""

    summary: str
    titles: list[str]
    # How many more titles there were than the panel has room for.
    more: int = 0


@dataclass(frozen=True)
class WorkerStatus:
    state: OverviewWorkerState | None
    last_run: OverviewRun | None

    @property
    def enabled(self) -> bool:
        return self.state is not None and self.state.enabled

    @property
    def cooldown_period(self) -> int:
        return self.state.cooldown_period if self.state else DEFAULT_COOLDOWN

    @property
    def cooldown_label(self) -> str:
        """The cooldown as a person says it: ``15 min`` rather than ``900``."""
        seconds = self.cooldown_period
        if seconds % 3600 == 0:
            return f"{seconds // 3600} h"
        if seconds % 60 == 0:
            return f"{seconds // 60} min"
        return f"{seconds} s"

    @property
    def observers(self) -> list[str]:
        return list(self.state.observers) if self.state else list(OBSERVABLE)

    @property
    def failures(self) -> int:
        if self.state is None:
            return 0
        return int(self.state.metadata.get("consecutive_failures", 0))

    @property
    def changes_seen(self) -> list[tuple[str, int]]:
        if self.last_run is None:
            return []
        totals = self.last_run.changes.get("total", {})
        return [(name, int(totals[name])) for name in OBSERVABLE if name in totals]

    @property
    def outcomes(self) -> list[Outcome]:
        if self.last_run is None:
            return []
        return run_outcomes(self.last_run.actions)


def run_outcomes(actions: dict[str, Any]) -> list[Outcome]:
    """What a run did, from the actions it recorded, in words."""
    if not actions:
        return []
    outcomes = []
    if actions.get("forecast_updated"):
        reason = str(actions.get("forecast_reason") or "")
        outcomes.append(Outcome("Updated the forecast", [reason] if reason else []))
    for key, summary in (
        ("notifications", "Notified you"),
        ("action_items_added", "Added action items"),
        ("action_items_removed", "Retired action items"),
    ):
        titles = [str(title) for title in actions.get(key, [])]
        if titles:
            shown = titles[:TITLES_SHOWN]
            outcomes.append(Outcome(summary, shown, len(titles) - len(shown)))
    if not outcomes:
        outcomes.append(Outcome("Nothing needed doing", []))
    note = actions.get("analyzer_note")
    if note:
        outcomes.append(Outcome("Note", [str(note)]))
    return outcomes


@dataclass(frozen=True)
class ChangeRow:
    entity_type: str
    label: str
    change_type: str
    summary: str
    updated_at: datetime.datetime


@dataclass(frozen=True)
class PendingChanges:
    """The changes the worker's next run will see, newest first."""

    tracking: bool
    since: datetime.datetime | None
    rows: list[ChangeRow]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


def worker_status(user: User) -> WorkerStatus:
    state = service.get_state(user)
    last_run = None
    if state is not None:
        last_run = (
            OverviewRun.objects.filter(user_id=user.pk).order_by("-started_at").first()
        )
    return WorkerStatus(state=state, last_run=last_run)


def pending_changes(user: User) -> PendingChanges:
    """What detection finds since the watermark, as the next run would."""
    state = service.get_state(user)
    if state is None:
        return PendingChanges(tracking=False, since=None, rows=[], total=0)

    changes = detect(state, until=timezone.now())
    newest = sorted(changes.all, key=lambda change: change.updated_at, reverse=True)
    rows = [
        ChangeRow(
            entity_type=change.entity_type,
            label=change.label,
            change_type=change.change_type,
            summary=summarise(change),
            updated_at=change.updated_at,
        )
        for change in newest[:CHANGES_SHOWN]
    ]
    return PendingChanges(
        tracking=True,
        since=state.last_run_at,
        rows=rows,
        total=sum(changes.totals.values()),
    )


def summarise(change: EntityChange) -> str:
    """What moved, field by field, or how the entity stands when nothing can
    be compared."""
    if change.change_type == "deleted":
        return "deleted"
    if change.diff:
        return "; ".join(
            f"{FIELD_LABELS.get(moved.field, moved.field.replace('_', ' '))} "
            f"{show(moved.field, moved.old)} → {show(moved.field, moved.new)}"
            for moved in change.diff
        )
    return standing(change.entity_type, change.fields)


def standing(entity_type: str, fields: dict[str, Any]) -> str:
    if entity_type == "deal":
        value = f"{show('value', fields['value'])} {fields['currency']}"
        return f"{show('stage', fields['stage'])} · {value}"
    if entity_type == "contact":
        return (
            f"health {fields['health_score']} · "
            f"churn risk {show('churn_risk', fields['churn_risk'])}"
        )
    return " · ".join(
        show(name, fields[name]) for name in ("type", "status", "start_time")
    )


def show(name: str, value: Any) -> str:
    """A tracked field's value as a person reads it."""
    if value is None or value == "":
        return "none"
    if name == "value":
        return money(value)
    if name == "probability":
        return f"{value}%"
    if name == "expected_close_date":
        return date_format(datetime.date.fromisoformat(str(value)), "M j")
    if name in TIME_FIELDS:
        moment = timezone.localtime(datetime.datetime.fromisoformat(str(value)))
        return date_format(moment, "M j, H:i")
    if name in CHOICE_FIELDS:
        return str(value).replace("_", " ")
    return str(value)


def money(value: Any) -> str:
    """A whole amount with thousands separators, as the script writes it."""
    try:
        return f"{Decimal(str(value)):,.0f}"
    except (InvalidOperation, ValueError):
        return str(value)


def forecast_history(user: User) -> list[dict[str, Any]]:
    """The latest snapshots, oldest first, in the shape /api/forecast gives."""
    snapshots = ForecastSnapshot.objects.filter(user_id=user.pk).order_by(
        "-created_at"
    )[:HISTORY]
    return list(ForecastSnapshotSerializer(reversed(snapshots), many=True).data)


def figures(forecast: Forecast) -> dict[str, str]:
    """The forecast's figures as the page writes them: amounts in whole units."""
    return {
        name: str(value) if isinstance(value, int) else money(value)
        for name, value in asdict(forecast).items()
    }


def client_config(user: User, last_event_id: int) -> dict[str, Any]:
    """What the page's script needs: where to resume, and where to send things."""
    return {
        "lastEventId": last_event_id,
        "history": forecast_history(user),
        "notificationTypes": dict(NotificationType.choices),
        "priorities": dict(Priority.choices),
        "itemTypes": dict(ItemType.choices),
        "idPlaceholder": ID_PLACEHOLDER,
        "urls": {
            "events": EVENTS_PATH,
            "login": reverse("login"),
            "forecast": reverse("forecast"),
            "notificationRead": reverse("notification-read", args=[ID_PLACEHOLDER]),
            "notificationsReadAll": reverse("notification-read-all"),
            "itemDismiss": reverse("action-item-dismiss", args=[ID_PLACEHOLDER]),
            "enable": reverse("overview-enable"),
            "disable": reverse("overview-disable"),
            "config": reverse("overview-config"),
            "runNow": reverse("overview-run-now"),
            "workerStatus": reverse("dashboard-worker-status"),
            "changes": reverse("dashboard-changes"),
        },
    }


def dashboard(user: User) -> dict[str, Any]:
    """Everything the page shows, and where its live updates resume."""
    # The newest event id is read before anything else. An event logged after
    # it is replayed when the page connects, even if what it announces is
    # already on the page, so the script drops rows it already shows.
    last_event_id = (
        Event.objects.filter(user_id=user.pk).aggregate(newest=Max("id"))["newest"] or 0
    )
    forecast = figures(compute_forecast(user))
    notifications = Notification.objects.filter(user_id=user.pk).order_by(
        F("read_at").desc(nulls_first=True), "-created_at"
    )
    action_items = ActionItem.objects.filter(
        user_id=user.pk, dismissed=False, retired_at__isnull=True
    ).order_by("-created_at")
    return {
        "forecast": forecast,
        "notifications": list(notifications[:NOTIFICATIONS]),
        "unread_count": notifications.filter(read_at__isnull=True).count(),
        "action_items": list(action_items[:ACTION_ITEMS]),
        "worker": worker_status(user),
        "changes": pending_changes(user),
        "observable": OBSERVABLE,
        "client_config": client_config(user, last_event_id),
    }
