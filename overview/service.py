"""The actions on a user's overview worker.

Views, admin actions, management commands and tasks all come through here, so
each action validates, changes state and schedules in one place.
"""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from overview import schedule, tasks
from overview.detect import baseline
from overview.models import EntitySnapshot, OverviewWorkerState, default_observers

logger = logging.getLogger(__name__)

CONFIG_FIELDS = ("cooldown_period", "observers")


class NotEnabled(LookupError):
    """The overview worker is not on for the user: never enabled, or disabled."""


class Disabled(NotEnabled):
    """The user has turned the overview worker off."""


def get_state(user: User) -> OverviewWorkerState | None:
    return OverviewWorkerState.objects.filter(user_id=user.pk).first()


def _validated(state: OverviewWorkerState) -> OverviewWorkerState:
    state.full_clean(exclude=["user"])
    return state


def enable(
    user: User,
    *,
    cooldown_period: int | None = None,
    observers: list[str] | None = None,
) -> OverviewWorkerState:
    """Turn the worker on for ``user`` and schedule its first run.

    A user enabling for the first time starts from now: the worker takes a
    snapshot of every live entity, so the first run reports field-level
    diffs rather than the whole CRM as new. Enabling again keeps the
    watermark, so changes made while the worker was off are not lost.
    """
    now = timezone.now()
    with transaction.atomic():
        state = (
            OverviewWorkerState.objects.select_for_update()
            .filter(user_id=user.pk)
            .first()
        )
        created = state is None
        if state is None:
            state = OverviewWorkerState(
                user_id=user.pk, last_run_at=now, observers=default_observers()
            )
        if cooldown_period is not None:
            state.cooldown_period = cooldown_period
        if observers is not None:
            state.observers = observers
        state.enabled = True
        state.next_run_at = now + datetime.timedelta(seconds=state.cooldown_period)
        _validated(state).save()
        if created:
            EntitySnapshot.objects.bulk_create(
                baseline(user.pk, state.observers),
                update_conflicts=True,
                unique_fields=["user", "entity_type", "entity_id"],
                update_fields=["fields", "seen_at"],
            )
    logger.info(
        "Overview enabled for user %s (cooldown %ss)", user.pk, state.cooldown_period
    )
    return state


def disable(user: User) -> OverviewWorkerState:
    state = get_state(user)
    if state is None:
        raise NotEnabled(user.pk)
    state.enabled = False
    state.next_run_at = None
    state.save(update_fields=["enabled", "next_run_at", "updated_at"])
    logger.info("Overview disabled for user %s", user.pk)
    return state


def update_config(user: User, changes: dict[str, Any]) -> OverviewWorkerState:
    """Change the cooldown or the observers; raises ValidationError naming the field."""
    unknown = sorted(set(changes) - set(CONFIG_FIELDS))
    if unknown:
        raise ValidationError(
            {name: "This field cannot be configured." for name in unknown}
        )
    state = get_state(user)
    if state is None:
        raise NotEnabled(user.pk)
    for name, value in changes.items():
        setattr(state, name, value)
    if "cooldown_period" in changes and state.enabled:
        # A shorter cooldown should take effect now, not after the old one.
        state.next_run_at = min(
            state.next_run_at or timezone.now(),
            state.last_run_at + datetime.timedelta(seconds=state.cooldown_period),
        )
    _validated(state).save()
    return state


def run_now(user: User) -> bool:
    """Queue a run for ``user`` at once, past the cooldown; False if one is on.

    A run counts as on while a run-now for the user is queued and while any
    run holds the user's lease. The run still takes the lease, so it never
    overlaps a scheduled run; its next scheduled run stays where it was.
    Only an enabled worker runs: for a disabled one this raises Disabled, and
    NotEnabled for a user who never enabled it.
    """
    state = get_state(user)
    if state is None:
        raise NotEnabled(user.pk)
    if not state.enabled:
        raise Disabled(user.pk)
    if state.is_leased:
        logger.info("Run-now for user %s ignored: a run is under way", user.pk)
        return False

    # The mark lasts as long as a lease would: a run-now that has neither
    # started nor finished by then is lost, and a new request may queue again.
    ttl = settings.OVERVIEW_LEASE_SECONDS
    if not schedule.mark_run_now(user.pk, ttl):
        logger.info("Run-now for user %s ignored: one is already queued", user.pk)
        return False
    try:
        tasks.queue_run(user.pk, tasks.RUN_NOW, expires=ttl)
    except Exception:
        schedule.forget_run_now(user.pk)
        raise
    logger.info("Run-now queued for user %s", user.pk)
    return True
