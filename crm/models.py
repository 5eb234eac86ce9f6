"""The CRM a user owns: contacts, deals and calendar events.

The overview worker finds what changed by ``updated_at``, so it must move on
every write: ``save()``, ``QuerySet.update()`` and ``bulk_update()`` alike.
Django's ``auto_now`` only covers the first, so the queryset covers the rest.
"""

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


class TouchingQuerySet(models.QuerySet[M]):
    """A queryset whose bulk writes move ``updated_at`` like ``save()`` does."""

    def update(self, **kwargs: Any) -> int:
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)

    def bulk_update(
        self, objs: Iterable[M], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        objs = list(objs)
        now = timezone.now()
        for obj in objs:
            obj.updated_at = now  # type: ignore[attr-defined]
        names = list(fields)
        if "updated_at" not in names:
            names.append("updated_at")
        return super().bulk_update(objs, names, batch_size=batch_size)

    def alive(self) -> "TouchingQuerySet[M]":
        return self.filter(deleted_at__isnull=True)


class OwnedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    inserted_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=False)

    objects: Any = TouchingQuerySet.as_manager()

    class Meta:
        abstract = True


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


LEVEL_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2}

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Contact(OwnedModel):
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    health_score = models.PositiveSmallIntegerField(default=70, validators=PERCENT)
    sentiment = models.CharField(
        max_length=10, choices=Level.choices, default=Level.MEDIUM
    )
    churn_risk = models.CharField(
        max_length=10, choices=Level.choices, default=Level.LOW
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["user", "updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(health_score__gte=0, health_score__lte=100),
                name="contact_health_score_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.TextChoices):
    LEAD = "lead", "Lead"
    QUALIFIED = "qualified", "Qualified"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"


CLOSED_STAGES = (Stage.CLOSED_WON, Stage.CLOSED_LOST)


class Deal(OwnedModel):
    title = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default="USD")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    probability = models.PositiveSmallIntegerField(default=10, validators=PERCENT)
    expected_close_date = models.DateField(null=True, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=100),
                name="deal_probability_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="deal_value_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES


class EventType(models.TextChoices):
    MEETING = "meeting", "Meeting"
    CALL = "call", "Call"
    DEMO = "demo", "Demo"
    FOLLOW_UP = "follow_up", "Follow-up"


class EventStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    RESCHEDULED = "rescheduled", "Rescheduled"


class CalendarEvent(OwnedModel):
    title = models.CharField(max_length=200)
    type = models.CharField(
        max_length=20, choices=EventType.choices, default=EventType.MEETING
    )
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=EventStatus.choices, default=EventStatus.SCHEDULED
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_time"]
        indexes = [models.Index(fields=["user", "updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__isnull=True)
                | models.Q(end_time__gte=models.F("start_time")),
                name="event_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ForecastSnapshot(models.Model):
    """The revenue forecast as it stood after a run that changed it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    total_pipeline = models.DecimalField(max_digits=16, decimal_places=2)
    weighted_forecast = models.DecimalField(max_digits=16, decimal_places=2)
    closing_this_month = models.DecimalField(max_digits=16, decimal_places=2)
    closing_this_month_count = models.PositiveIntegerField()
    won_this_month = models.DecimalField(max_digits=16, decimal_places=2)
    open_deals = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.user} {self.weighted_forecast} at {self.created_at:%Y-%m-%d %H:%M}"
        )
