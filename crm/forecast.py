"""The revenue forecast: what the open pipeline is worth, and when it lands."""

import datetime
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.models import CLOSED_STAGES, Deal, ForecastSnapshot, Stage

CENT = Decimal("0.01")
MONEY: "DecimalField[Decimal, Decimal]" = DecimalField(max_digits=20, decimal_places=2)


@dataclass(frozen=True)
class Forecast:
    total_pipeline: Decimal
    weighted_forecast: Decimal
    closing_this_month: Decimal
    closing_this_month_count: int
    won_this_month: Decimal
    open_deals: int

    def as_json(self) -> dict[str, Any]:
        return {
            key: str(value) if isinstance(value, Decimal) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_snapshot(cls, snapshot: ForecastSnapshot) -> "Forecast":
        return cls(
            total_pipeline=snapshot.total_pipeline,
            weighted_forecast=snapshot.weighted_forecast,
            closing_this_month=snapshot.closing_this_month,
            closing_this_month_count=snapshot.closing_this_month_count,
            won_this_month=snapshot.won_this_month,
            open_deals=snapshot.open_deals,
        )


def month_bounds(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = today.replace(day=1)
    next_first = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, next_first - datetime.timedelta(days=1)


def compute_forecast(user: User, today: datetime.date | None = None) -> Forecast:
    """Compute the forecast from the user's live deals in one query."""
    first, last = month_bounds(today or timezone.localdate())
    is_open = ~Q(stage__in=CLOSED_STAGES)
    this_month = Q(expected_close_date__gte=first, expected_close_date__lte=last)

    def money(expression: Any, condition: Q) -> Coalesce:
        return Coalesce(
            Sum(expression, filter=condition, output_field=MONEY), Decimal(0)
        )

    totals = Deal.objects.filter(user=user, deleted_at__isnull=True).aggregate(
        total_pipeline=money("value", is_open),
        weighted=money(F("value") * F("probability"), is_open),
        closing_this_month=money("value", is_open & this_month),
        closing_this_month_count=Count("id", filter=is_open & this_month),
        won_this_month=money("value", Q(stage=Stage.CLOSED_WON) & this_month),
        open_deals=Count("id", filter=is_open),
    )
    return Forecast(
        total_pipeline=Decimal(totals["total_pipeline"]).quantize(CENT),
        weighted_forecast=(Decimal(totals["weighted"]) / 100).quantize(CENT),
        closing_this_month=Decimal(totals["closing_this_month"]).quantize(CENT),
        closing_this_month_count=totals["closing_this_month_count"],
        won_this_month=Decimal(totals["won_this_month"]).quantize(CENT),
        open_deals=totals["open_deals"],
    )


def latest_snapshot(user: User) -> ForecastSnapshot | None:
    return ForecastSnapshot.objects.filter(user=user).order_by("-created_at").first()


def store_if_changed(user: User, forecast: Forecast) -> ForecastSnapshot | None:
    """Store ``forecast`` as a new snapshot unless it equals the latest one."""
    latest = latest_snapshot(user)
    if latest is not None and Forecast.from_snapshot(latest) == forecast:
        return None
    return ForecastSnapshot.objects.create(user=user, **asdict(forecast))
