"""The forecast figures, computed from one user's live deals."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.forecast import Forecast, compute_forecast, store_if_changed
from crm.models import Deal, ForecastSnapshot

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 3, 14)
THIS_MONTH = datetime.date(2025, 3, 20)
NEXT_MONTH = datetime.date(2025, 4, 10)


def deal(user, value, stage="proposal", probability=50, close=NEXT_MONTH, **fields):
    return Deal.objects.create(
        user=user,
        title=f"{stage} deal worth {value}",
        value=Decimal(value),
        stage=stage,
        probability=probability,
        expected_close_date=close,
        **fields,
    )


def test_a_user_without_deals_has_an_empty_forecast(alice):
    forecast = compute_forecast(alice, today=TODAY)

    assert forecast == Forecast(
        total_pipeline=Decimal("0.00"),
        weighted_forecast=Decimal("0.00"),
        closing_this_month=Decimal("0.00"),
        closing_this_month_count=0,
        won_this_month=Decimal("0.00"),
        open_deals=0,
    )


def test_the_pipeline_counts_open_deals_only(alice):
    deal(alice, 10_000, stage="lead")
    deal(alice, 20_000, stage="negotiation")
    deal(alice, 40_000, stage="closed_won", probability=100)
    deal(alice, 80_000, stage="closed_lost", probability=0)

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.total_pipeline == Decimal("30000.00")
    assert forecast.open_deals == 2


def test_the_weighted_forecast_weighs_each_open_deal_by_its_probability(alice):
    deal(alice, 10_000, probability=10)
    deal(alice, 33_333, probability=75)
    deal(alice, 50_000, stage="closed_won", probability=100)

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.weighted_forecast == Decimal("25999.75")


def test_closing_this_month_takes_open_deals_due_by_the_months_last_day(alice):
    deal(alice, 1_000, close=datetime.date(2025, 3, 1))
    deal(alice, 2_000, close=datetime.date(2025, 3, 31))
    deal(alice, 4_000, close=datetime.date(2025, 2, 28))
    deal(alice, 8_000, close=datetime.date(2025, 4, 1))
    deal(alice, 16_000, close=None)
    deal(alice, 32_000, stage="closed_won", probability=100, close=THIS_MONTH)

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.closing_this_month == Decimal("3000.00")
    assert forecast.closing_this_month_count == 2


def test_won_this_month_takes_deals_won_with_a_close_date_this_month(alice):
    deal(alice, 5_000, stage="closed_won", probability=100, close=THIS_MONTH)
    deal(alice, 7_000, stage="closed_won", probability=100, close=NEXT_MONTH)
    deal(alice, 9_000, stage="closed_lost", probability=0, close=THIS_MONTH)

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.won_this_month == Decimal("5000.00")


def test_deleted_deals_do_not_count(alice):
    deal(alice, 10_000, close=THIS_MONTH, deleted_at=timezone.now())

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.total_pipeline == Decimal("0.00")
    assert forecast.open_deals == 0


def test_another_users_deals_do_not_count(alice, bob):
    deal(bob, 10_000, close=THIS_MONTH)

    forecast = compute_forecast(alice, today=TODAY)

    assert forecast.total_pipeline == Decimal("0.00")


def test_a_forecast_is_stored_when_it_differs_from_the_last_one(alice):
    deal(alice, 10_000)
    store_if_changed(alice, compute_forecast(alice, today=TODAY))
    deal(alice, 5_000)

    snapshot = store_if_changed(alice, compute_forecast(alice, today=TODAY))

    assert snapshot is not None
    assert snapshot.total_pipeline == Decimal("15000.00")
    assert ForecastSnapshot.objects.filter(user=alice).count() == 2


def test_an_unchanged_forecast_is_not_stored_again(alice):
    deal(alice, 10_000)
    store_if_changed(alice, compute_forecast(alice, today=TODAY))

    snapshot = store_if_changed(alice, compute_forecast(alice, today=TODAY))

    assert snapshot is None
    assert ForecastSnapshot.objects.filter(user=alice).count() == 1
