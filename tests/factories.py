"""Small factories for CRM rows; tests pass only what they care about."""

import datetime
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.models import CalendarEvent, Contact, Deal

_numbers = itertools.count(1)


def contact(user: Any, **fields: Any) -> Contact:
    number = next(_numbers)
    defaults: dict[str, Any] = {
        "name": f"Contact {number}",
        "company": "Initech",
        "email": f"contact{number}@example.com",
        "health_score": 75,
        "sentiment": "medium",
        "churn_risk": "low",
    }
    return Contact.objects.create(user=user, **{**defaults, **fields})


def deal(user: Any, **fields: Any) -> Deal:
    number = next(_numbers)
    defaults: dict[str, Any] = {
        "title": f"Deal {number}",
        "company": "Initech",
        "value": Decimal("20000"),
        "stage": "qualified",
        "probability": 30,
        "expected_close_date": timezone.localdate() + datetime.timedelta(days=40),
    }
    return Deal.objects.create(user=user, **{**defaults, **fields})


def event(user: Any, **fields: Any) -> CalendarEvent:
    number = next(_numbers)
    start = timezone.now() + datetime.timedelta(days=5)
    defaults: dict[str, Any] = {
        "title": f"Meeting {number}",
        "type": "meeting",
        "start_time": start,
        "end_time": start + datetime.timedelta(hours=1),
        "status": "scheduled",
    }
    return CalendarEvent.objects.create(user=user, **{**defaults, **fields})
