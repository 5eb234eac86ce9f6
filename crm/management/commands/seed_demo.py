"""Create the ``demo`` user (password ``demo``) with a small, believable CRM.

Running it again changes nothing: rows are looked up by their owner and their
name or title, and only the missing ones are created. Existing rows are left
alone, so that a second run does not look like a burst of changes to the
overview worker. Dates are placed around the day of the first run. The demo's
overview worker is enabled the first time, with a cooldown of a minute.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from crm.forecast import month_bounds
from crm.models import CLOSED_STAGES, CalendarEvent, Contact, Deal, EventType, Stage
from overview import service

USERNAME = "demo"
PASSWORD = "demo"
DEMO_COOLDOWN = 60

# The win probability a sales team would give a deal at each stage.
STAGE_PROBABILITY = {
    Stage.LEAD: 10,
    Stage.QUALIFIED: 25,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 75,
    Stage.CLOSED_WON: 100,
    Stage.CLOSED_LOST: 0,
}

CONTACTS: list[tuple[str, str, int, str, str]] = [
    # name, company, health score, sentiment, churn risk
    ("Maya Lindqvist", "Northwind Logistics", 88, "high", "low"),
    ("Tomás Herrera", "Alpenglow Outdoor", 64, "medium", "medium"),
    ("Priya Raman", "Quillfeather Publishing", 91, "high", "low"),
    ("Jonas Becker", "Brightline Energy", 42, "low", "high"),
    ("Aisha Okafor", "Meridian Health Partners", 77, "medium", "low"),
    ("Daniel Park", "Cobalt Robotics", 55, "medium", "medium"),
    ("Sophie Marchand", "Atelier Lumière", 83, "high", "low"),
    ("Lukas Novák", "Danube Freight", 38, "low", "high"),
    ("Emily Carter", "Harborview Dental Group", 70, "medium", "low"),
    ("Rafael Souza", "Verde Agritech", 59, "medium", "medium"),
    ("Hannah Vogel", "Kessler & Vogel Architects", 94, "high", "low"),
    ("Marcus Johnson", "Summit Ridge Capital", 47, "low", "medium"),
    ("Elena Petrova", "Polaris Analytics", 81, "high", "low"),
    ("Kenji Watanabe", "Sakura Precision Tools", 67, "medium", "low"),
    ("Chloé Dubois", "Maison Dubois Interiors", 52, "medium", "high"),
    ("Oliver Bennett", "Bennett & Shaw Legal", 73, "medium", "low"),
    ("Fatima Al-Sayed", "Oasis Hospitality", 86, "high", "low"),
    ("Noah Fischer", "Tessellate Software", 35, "low", "high"),
    ("Isabella Rossi", "Cantina Rossi", 79, "high", "low"),
    ("Grace Thompson", "Lakeside Credit Union", 61, "medium", "medium"),
]

DEALS: list[tuple[str, str, str, int, str, int]] = [
    # title, contact, stage, value, currency, days from today to the expected close
    ("Fleet telematics rollout", "Maya Lindqvist", "negotiation", 120_000, "EUR", 12),
    ("Catalogue team CRM seats", "Tomás Herrera", "proposal", 18_500, "EUR", 25),
    ("Editorial workflow platform", "Priya Raman", "closed_won", 64_000, "USD", -6),
    ("Grid analytics pilot", "Jonas Becker", "qualified", 45_000, "EUR", 40),
    ("Patient intake automation", "Aisha Okafor", "proposal", 87_500, "USD", 20),
    ("Warehouse robot fleet", "Daniel Park", "lead", 250_000, "USD", 85),
    ("Showroom booking system", "Sophie Marchand", "closed_won", 12_000, "EUR", -3),
    ("Cross-border tracking", "Lukas Novák", "closed_lost", 38_000, "EUR", -10),
    ("Multi-site scheduling", "Emily Carter", "qualified", 22_000, "USD", 35),
    ("Harvest forecasting licences", "Rafael Souza", "lead", 9_500, "USD", 70),
    ("Project portfolio workspace", "Hannah Vogel", "negotiation", 56_000, "EUR", 8),
    ("Investor reporting portal", "Marcus Johnson", "proposal", 140_000, "USD", 50),
    ("Data warehouse migration", "Elena Petrova", "negotiation", 98_000, "USD", 5),
    ("Shop-floor ERP connector", "Kenji Watanabe", "qualified", 31_000, "USD", 60),
    ("Guest experience suite", "Fatima Al-Sayed", "lead", 175_000, "USD", 100),
]

EVENTS: list[tuple[str, str, str, int, int, str, bool]] = [
    # title, type, status, days from today, local hour, contact, about their deal
    ("Quarterly review", "meeting", "completed", -6, 10, "Maya Lindqvist", True),
    ("Editorial platform demo", "demo", "completed", -9, 14, "Priya Raman", True),
    ("Discovery call", "call", "completed", -3, 11, "Jonas Becker", True),
    ("Renewal check-in", "call", "cancelled", -2, 15, "Noah Fischer", False),
    ("Pricing follow-up", "follow_up", "rescheduled", 1, 9, "Tomás Herrera", True),
    ("Contract negotiation", "meeting", "scheduled", 1, 13, "Hannah Vogel", True),
    ("Security review", "call", "scheduled", 2, 16, "Elena Petrova", True),
    ("Intake automation demo", "demo", "scheduled", 4, 10, "Aisha Okafor", True),
    ("Proposal walkthrough", "meeting", "scheduled", 7, 14, "Marcus Johnson", True),
    ("Onboarding follow-up", "follow_up", "scheduled", 10, 11, "Chloé Dubois", False),
]


class Command(BaseCommand):
    help = "Create the demo user (password demo) with a small sample CRM."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user, user_created = demo_user()
            contacts, new_contacts = seed_contacts(user)
            deals, new_deals = seed_deals(user, contacts)
            new_events = seed_events(user, contacts, deals)
            # The demo shows the worker at work, so it watches from the start
            # and wakes every minute; a state that exists is left as it is.
            if service.get_state(user) is None:
                service.enable(user, cooldown_period=DEMO_COOLDOWN)

        self.stdout.write(
            f"Demo CRM of {USERNAME!r}: {len(CONTACTS)} contacts, {len(DEALS)} "
            f"deals, {len(EVENTS)} events; {new_contacts + new_deals + new_events} "
            "rows were new."
        )
        if user_created:
            self.stdout.write(f"Log in as {USERNAME} with password {PASSWORD}.")


def demo_user() -> tuple[User, bool]:
    user, created = User.objects.get_or_create(
        username=USERNAME,
        defaults={"email": "demo@flow.example", "is_staff": True, "is_superuser": True},
    )
    if created:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return user, created


def seed_contacts(user: User) -> tuple[dict[str, Contact], int]:
    contacts: dict[str, Contact] = {}
    new = 0
    for name, company, health_score, sentiment, churn_risk in CONTACTS:
        contacts[name], created = Contact.objects.get_or_create(
            user=user,
            name=name,
            defaults={
                "company": company,
                "email": demo_email(name, company),
                "health_score": health_score,
                "sentiment": sentiment,
                "churn_risk": churn_risk,
            },
        )
        new += created
    return contacts, new


def demo_email(name: str, company: str) -> str:
    # The reserved .example domain keeps anything sent from a demo away from
    # real mailboxes.
    return f"{slugify(name.split()[0])}@{slugify(company)}.example"


def seed_deals(user: User, contacts: dict[str, Contact]) -> tuple[dict[str, Deal], int]:
    """Create the deals; the result is keyed by the name of each deal's contact."""
    today = timezone.localdate()
    deals: dict[str, Deal] = {}
    new = 0
    for title, contact_name, stage, value, currency, days in DEALS:
        contact = contacts[contact_name]
        deals[contact_name], created = Deal.objects.get_or_create(
            user=user,
            title=title,
            defaults={
                "company": contact.company,
                "contact": contact,
                "stage": stage,
                "probability": STAGE_PROBABILITY[Stage(stage)],
                "value": Decimal(value),
                "currency": currency,
                "expected_close_date": close_date(today, stage, days),
            },
        )
        new += created
    return deals, new


def close_date(today: datetime.date, stage: str, days: int) -> datetime.date:
    """The expected close ``days`` from ``today``, with the deals that close soon
    or have just closed kept inside the current month, so that the forecast's
    figures for this month are never empty, whatever day the demo is seeded."""
    first, last = month_bounds(today)
    date = today + datetime.timedelta(days=days)
    if stage in CLOSED_STAGES:
        return max(date, first)
    if days <= 12:
        return min(date, last)
    return date


def seed_events(
    user: User, contacts: dict[str, Contact], deals: dict[str, Deal]
) -> int:
    today = timezone.localdate()
    new = 0
    for title, kind, status, days, hour, contact_name, about_deal in EVENTS:
        start = timezone.make_aware(
            datetime.datetime.combine(
                today + datetime.timedelta(days=days), datetime.time(hour)
            )
        )
        minutes = 30 if kind in (EventType.CALL, EventType.FOLLOW_UP) else 60
        _, created = CalendarEvent.objects.get_or_create(
            user=user,
            title=title,
            defaults={
                "type": kind,
                "status": status,
                "start_time": start,
                "end_time": start + datetime.timedelta(minutes=minutes),
                "contact": contacts[contact_name],
                "deal": deals[contact_name] if about_deal else None,
            },
        )
        new += created
    return new
