"""The CRM rows the overview worker watches.

The worker finds changes by ``updated_at``, so every way of writing a row must
move it.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import CalendarEvent, Contact, Deal

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=30)


def age(model, row):
    """Set the row's updated_at a month back, without any other change."""
    model.objects.filter(pk=row.pk).update(updated_at=LONG_AGO)
    row.refresh_from_db()
    assert row.updated_at == LONG_AGO


def test_save_moves_updated_at(alice):
    contact = Contact.objects.create(user=alice, name="Ada Byron")
    age(Contact, contact)

    contact.company = "Analytical Engines"
    contact.save()

    contact.refresh_from_db()
    assert contact.updated_at > LONG_AGO


def test_queryset_update_moves_updated_at(alice):
    deal = Deal.objects.create(user=alice, title="Engine licence")
    age(Deal, deal)

    Deal.objects.filter(pk=deal.pk).update(stage="proposal")

    deal.refresh_from_db()
    assert deal.stage == "proposal"
    assert deal.updated_at > LONG_AGO


def test_bulk_update_moves_updated_at(alice):
    start = timezone.now()
    events = [
        CalendarEvent.objects.create(user=alice, title=title, start_time=start)
        for title in ("Kick-off", "Review")
    ]
    for event in events:
        age(CalendarEvent, event)
        event.status = "completed"

    CalendarEvent.objects.bulk_update(events, ["status"])

    for event in events:
        event.refresh_from_db()
        assert event.status == "completed"
        assert event.updated_at > LONG_AGO


def test_a_health_score_above_100_is_refused_by_the_database(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(user=alice, name="Ada Byron", health_score=101)


def test_a_health_score_of_100_is_accepted(alice):
    contact = Contact.objects.create(user=alice, name="Ada Byron", health_score=100)

    assert contact.health_score == 100


def test_a_probability_above_100_is_refused_by_the_database(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(user=alice, title="Engine licence", probability=101)


def test_a_negative_probability_is_refused_by_the_database(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(user=alice, title="Engine licence", probability=-1)


def test_a_negative_deal_value_is_refused_by_the_database(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Deal.objects.create(user=alice, title="Engine licence", value=Decimal("-1"))


def test_an_event_that_ends_before_it_starts_is_refused_by_the_database(alice):
    start = timezone.now()

    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarEvent.objects.create(
            user=alice,
            title="Backwards",
            start_time=start,
            end_time=start - datetime.timedelta(minutes=1),
        )
