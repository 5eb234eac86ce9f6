"""What the worker tells a user: notifications, action items, and the event log
from which their browsers are kept current."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationType(models.TextChoices):
    DEAL_UPDATE = "deal_update", "Deal update"
    AI_INSIGHT = "ai_insight", "AI insight"
    AT_RISK_ALERT = "at_risk_alert", "At-risk alert"
    TASK_DUE = "task_due", "Task due"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=20, choices=NotificationType.choices)
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    title = models.CharField(max_length=200)
    message = models.TextField(max_length=2000, blank=True)
    run = models.ForeignKey(
        "overview.OverviewRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return self.title


class ItemType(models.TextChoices):
    SUGGESTION = "suggestion", "Suggestion"
    WARNING = "warning", "Warning"
    TASK = "task", "Task"


class CreatedBy(models.TextChoices):
    WORKER = "worker", "Overview worker"
    USER = "user", "User"


def normalise_title(title: str) -> str:
    """The form in which two action item titles count as the same item."""
    return " ".join(title.casefold().split())


class ActionItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    icon = models.CharField(max_length=40, default="sparkles")
    title = models.CharField(max_length=200)
    normalised_title = models.CharField(max_length=200, editable=False)
    item_type = models.CharField(
        max_length=20, choices=ItemType.choices, default=ItemType.SUGGESTION
    )
    dismissed = models.BooleanField(default=False)
    created_by = models.CharField(
        max_length=10, choices=CreatedBy.choices, default=CreatedBy.USER
    )
    run = models.ForeignKey(
        "overview.OverviewRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the worker decided the item no longer applies.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "dismissed", "retired_at"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        self.normalised_title = normalise_title(self.title)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_open(self) -> bool:
        return not self.dismissed and self.retired_at is None


class EventKind(models.TextChoices):
    FORECAST_UPDATED = "forecast_updated", "Forecast updated"
    NOTIFICATION = "notification", "Notification"
    ACTION_ITEMS_CHANGED = "action_items_changed", "Action items changed"
    RUN_FINISHED = "run_finished", "Run finished"


class Event(models.Model):
    """One entry in a user's event log; its id orders a browser's catch-up."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=30, choices=EventKind.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "id"])]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"

    def as_message(self) -> dict[str, object]:
        return {"id": self.pk, "event": self.event, "data": self.data}
