"""The worker's state per user, the record of every run, and what it last saw."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

OBSERVABLE = ("contacts", "deals", "events")
DEFAULT_COOLDOWN = 900
MIN_COOLDOWN = 60
# A week: a worker that wakes less often than that is better turned off.
MAX_COOLDOWN = 7 * 24 * 3600


def default_observers() -> list[str]:
    return list(OBSERVABLE)


def validate_observers(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(
            "Choose at least one of: {}.".format(", ".join(OBSERVABLE))
        )
    unknown = [item for item in value if item not in OBSERVABLE]
    if unknown:
        raise ValidationError(
            "Unknown observer {}; choose from {}.".format(
                ", ".join(map(repr, unknown)), ", ".join(OBSERVABLE)
            )
        )
    if len(set(value)) != len(value):
        raise ValidationError("Each observer may be named once.")


def validate_cooldown(value: int) -> None:
    if value < MIN_COOLDOWN:
        raise ValidationError(f"The cooldown must be at least {MIN_COOLDOWN} seconds.")
    if value > MAX_COOLDOWN:
        raise ValidationError(f"The cooldown must be at most {MAX_COOLDOWN} seconds.")


class OverviewWorkerState(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="overview"
    )
    # The watermark: changes up to this moment have been analysed.
    last_run_at = models.DateTimeField(default=timezone.now)
    cooldown_period = models.PositiveIntegerField(
        default=DEFAULT_COOLDOWN, validators=[validate_cooldown]
    )
    observers = models.JSONField(
        default=default_observers, validators=[validate_observers]
    )
    enabled = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)

    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    inserted_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "overview worker state"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cooldown_period__gte=MIN_COOLDOWN),
                name="overview_cooldown_at_least_60",
            ),
            models.CheckConstraint(
                condition=models.Q(cooldown_period__lte=MAX_COOLDOWN),
                name="overview_cooldown_at_most_a_week",
            ),
        ]

    def __str__(self) -> str:
        return f"overview of {self.user}"

    @property
    def is_leased(self) -> bool:
        return (
            self.lease_expires_at is not None and self.lease_expires_at > timezone.now()
        )


class RunOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"


class OverviewRun(models.Model):
    """One run for one user: what it looked at, what it decided, what it did."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    trigger = models.CharField(max_length=20, default="schedule")
    outcome = models.CharField(
        max_length=20, choices=RunOutcome.choices, default=RunOutcome.RUNNING
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    analyzer = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=100, blank=True)
    actions = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "-started_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.user} ({self.outcome})"

    @property
    def total_changes(self) -> int:
        return sum(int(count) for count in self.changes.get("total", {}).values())


class EntitySnapshot(models.Model):
    """The fields of one entity as the analysis last saw them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    entity_type = models.CharField(max_length=20)
    entity_id = models.UUIDField()
    fields = models.JSONField()
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "entity_type", "entity_id"],
                name="one_snapshot_per_entity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.entity_id}"
