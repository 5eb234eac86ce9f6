"""Believable changes to a user's CRM, one at a time, for demonstrations.

The rows to change are picked in a fixed order (ids are random), so that the
same seed on the same CRM makes the same changes.

Each change is something that happens in a sales team's day: a deal moves a
stage or changes in value, a contact cools off, a meeting is cancelled or
moved, a meeting is booked, a new deal comes in. Every change goes through
``save()``, so ``updated_at`` moves and the overview worker sees it.
"""

import datetime
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from crm.management.commands.seed_demo import STAGE_PROBABILITY
from crm.models import (
    CalendarEvent,
    Contact,
    Deal,
    EventStatus,
    EventType,
    Level,
    Stage,
)

logger = logging.getLogger(__name__)

OPEN_STAGES = [Stage.LEAD, Stage.QUALIFIED, Stage.PROPOSAL, Stage.NEGOTIATION]
# With fewer open deals than this, new deals arrive more often, so that a long
# demonstration does not close out the whole pipeline.
FEW_OPEN_DEALS = 6

PROSPECTS = [
    ("Lumen Grid Systems", "Substation monitoring rollout"),
    ("Copperleaf Foods", "Supplier portal licences"),
    ("Northgate Insurance", "Claims triage automation"),
    ("Bluewater Marinas", "Berth booking platform"),
    ("Halcyon Clinics", "Patient messaging suite"),
    ("Ironbridge Manufacturing", "Predictive maintenance pilot"),
    ("Juniper & Finch", "Client reporting workspace"),
    ("Orbital Freightways", "Route planning upgrade"),
    ("Redwood Learning", "Course analytics licences"),
    ("Sable Street Studios", "Asset library migration"),
    ("Tidewell Utilities", "Field service scheduling"),
    ("Vantage Hotels Group", "Guest feedback analytics"),
]

MEETINGS = [
    ("Discovery call", EventType.CALL, 30),
    ("Product demo", EventType.DEMO, 60),
    ("Pricing discussion", EventType.MEETING, 45),
    ("Technical deep dive", EventType.MEETING, 60),
    ("Check-in call", EventType.FOLLOW_UP, 30),
]


@dataclass(frozen=True)
class Activity:
    """One change made: which entity, and what happened to it, in words."""

    entity_type: str
    entity_id: str
    description: str


def words(stage: str) -> str:
    return stage.replace("_", " ")


def amount(value: Decimal, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _open_deals(user: User) -> list[Deal]:
    return list(
        Deal.objects.alive()
        .filter(user=user, stage__in=OPEN_STAGES)
        .order_by("title", "pk")
    )


def move_stage(user: User, rng: random.Random) -> Activity | None:
    """An open deal moves on a stage, now and then slips back, or closes."""
    deals = _open_deals(user)
    if not deals:
        return None
    deal = rng.choice(deals)
    old = Stage(deal.stage)
    position = OPEN_STAGES.index(old)
    if position > 0 and rng.random() < 0.15:
        new = OPEN_STAGES[position - 1]
    elif old == Stage.NEGOTIATION:
        new = Stage.CLOSED_WON if rng.random() < 0.7 else Stage.CLOSED_LOST
    else:
        new = OPEN_STAGES[position + 1]

    deal.stage = new
    deal.probability = STAGE_PROBABILITY[new]
    if new in (Stage.CLOSED_WON, Stage.CLOSED_LOST):
        deal.expected_close_date = timezone.localdate()
    deal.save()
    return Activity(
        "deal", str(deal.pk), f"{deal.title} moved from {words(old)} to {words(new)}"
    )


def revalue(user: User, rng: random.Random) -> Activity | None:
    """An open deal grows or shrinks by a quarter or more, as scopes do."""
    deals = _open_deals(user)
    if not deals:
        return None
    deal = rng.choice(deals)
    old = deal.value
    factor = rng.uniform(1.25, 1.6) if rng.random() < 0.6 else rng.uniform(0.55, 0.75)
    # Quotes come in round amounts.
    deal.value = max(Decimal(round(float(old) * factor / 500) * 500), Decimal(500))
    deal.save()
    return Activity(
        "deal",
        str(deal.pk),
        f"{deal.title} changed in value from {amount(old, deal.currency)} "
        f"to {amount(deal.value, deal.currency)}",
    )


def cool_off(user: User, rng: random.Random) -> Activity | None:
    """A contact's churn risk turns high, or their health score falls."""
    contacts = list(
        Contact.objects.alive()
        .filter(user=user)
        .filter(Q(churn_risk__in=[Level.LOW, Level.MEDIUM]) | Q(health_score__gte=25))
        .order_by("name", "pk")
    )
    if not contacts:
        return None
    contact = rng.choice(contacts)
    can_fall = contact.health_score >= 25
    if contact.churn_risk != Level.HIGH and (not can_fall or rng.random() < 0.5):
        old_risk = contact.churn_risk
        contact.churn_risk = Level.HIGH
        contact.sentiment = Level.LOW
        contact.save()
        return Activity(
            "contact",
            str(contact.pk),
            f"{contact.name}'s churn risk rose from {old_risk} to high",
        )

    # A fall of twenty points or more is one the worker's rules call a warning.
    old_health = contact.health_score
    contact.health_score = max(old_health - rng.randint(20, 30), 5)
    contact.save()
    return Activity(
        "contact",
        str(contact.pk),
        f"{contact.name}'s health fell from {old_health} to {contact.health_score}",
    )


def move_meeting(user: User, rng: random.Random) -> Activity | None:
    """A coming meeting is cancelled, or moved a few days on."""
    meetings = list(
        CalendarEvent.objects.alive()
        .filter(
            user=user,
            status__in=[EventStatus.SCHEDULED, EventStatus.RESCHEDULED],
            start_time__gt=timezone.now(),
        )
        .order_by("start_time", "title", "pk")
    )
    if not meetings:
        return None
    meeting = rng.choice(meetings)
    if rng.random() < 0.4:
        meeting.status = EventStatus.CANCELLED
        meeting.save()
        return Activity("event", str(meeting.pk), f"{meeting.title} was cancelled")

    shift = datetime.timedelta(days=rng.randint(1, 5))
    meeting.start_time += shift
    if meeting.end_time is not None:
        meeting.end_time += shift
    meeting.status = EventStatus.RESCHEDULED
    meeting.save()
    when = timezone.localtime(meeting.start_time)
    return Activity(
        "event",
        str(meeting.pk),
        f"{meeting.title} was moved to {when:%a %d %b, %H:%M}",
    )


def book_meeting(user: User, rng: random.Random) -> Activity | None:
    """A meeting about an open deal goes into the calendar."""
    deals = _open_deals(user)
    if not deals:
        return None
    deal = rng.choice(deals)
    name, kind, minutes = rng.choice(MEETINGS)
    day = timezone.localdate() + datetime.timedelta(days=rng.randint(1, 6))
    start = timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(rng.choice([9, 10, 11, 14, 15])))
    )
    meeting = CalendarEvent.objects.create(
        user=user,
        title=f"{name}: {deal.company or deal.title}",
        type=kind,
        start_time=start,
        end_time=start + datetime.timedelta(minutes=minutes),
        deal=deal,
        contact=deal.contact,
    )
    return Activity(
        "event",
        str(meeting.pk),
        f"{meeting.title} was booked for {timezone.localtime(start):%a %d %b, %H:%M}",
    )


def new_deal(user: User, rng: random.Random) -> Activity | None:
    """A deal arrives from a prospect the user has no deal with yet."""
    taken = set(Deal.objects.filter(user=user).values_list("title", flat=True))
    fresh = [(company, title) for company, title in PROSPECTS if title not in taken]
    company, title = rng.choice(fresh or PROSPECTS)
    if not fresh:
        title = f"{title} ({rng.randint(2, 99)})"
    stage = rng.choice([Stage.LEAD, Stage.LEAD, Stage.QUALIFIED])
    deal = Deal.objects.create(
        user=user,
        title=title,
        company=company,
        value=Decimal(rng.randrange(15, 180) * 1000),
        currency="USD",
        stage=stage,
        probability=STAGE_PROBABILITY[stage],
        expected_close_date=timezone.localdate()
        + datetime.timedelta(days=rng.randint(30, 90)),
    )
    return Activity(
        "deal",
        str(deal.pk),
        f"New deal: {title} from {company}, {amount(deal.value, deal.currency)} "
        f"at {words(stage)}",
    )


Change = Callable[[User, random.Random], Activity | None]

# How often each kind of change happens, relative to the others.
CHANGES: list[tuple[Change, int]] = [
    (move_stage, 30),
    (revalue, 15),
    (cool_off, 20),
    (move_meeting, 15),
    (book_meeting, 5),
    (new_deal, 15),
]


def make_change(user: User, rng: random.Random) -> Activity:
    """Make one change in ``user``'s CRM, of a kind chosen by weight.

    A kind that finds nothing to change gives way to another; a new deal
    needs nothing, so some change is always made.
    """
    weights = dict(CHANGES)
    if len(_open_deals(user)) < FEW_OPEN_DEALS:
        weights[new_deal] *= 3
    while weights:
        kinds = list(weights)
        change = rng.choices(kinds, weights=[weights[kind] for kind in kinds])[0]
        activity = change(user, rng)
        if activity is not None:
            logger.info(
                "Activity for %s: %s", user.get_username(), activity.description
            )
            return activity
        del weights[change]
    raise AssertionError("a new deal can always be made")
