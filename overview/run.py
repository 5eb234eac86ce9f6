"""One overview run for one user, end to end.

    take the lease -> detect -> analyze -> execute, record the run and move
    the watermark in one transaction -> release the lease -> broadcast

A run that fails records why and leaves the watermark and the snapshots where
they were, so the next run sees the same changes again.
"""

import datetime
import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.broadcast import broadcast
from notifications.models import Event, EventKind, Notification
from overview.analysis import Analyzer, choose_analyzer
from overview.analysis.schema import Analysis
from overview.detect import detect
from overview.execute import execute, notification_data
from overview.models import OverviewRun, OverviewWorkerState, RunOutcome

logger = logging.getLogger(__name__)

# After this many failed runs in a row the user hears that analysis is failing.
FAILURES_BEFORE_NOTICE = 3


class LeaseLost(RuntimeError):
    """Another worker took the user over while this run was still going."""


def take_lease(state: OverviewWorkerState) -> str | None:
    """Claim the user for one run with a single conditional update.

    The update touches the row only when no live lease holds it, so of two
    workers racing for the same user exactly one sees a count of one. The
    lease expires, so a worker killed mid-run blocks the user only briefly.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        OverviewWorkerState.objects.filter(pk=state.pk)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(
            lease_token=token,
            lease_expires_at=now
            + datetime.timedelta(seconds=settings.OVERVIEW_LEASE_SECONDS),
        )
    )
    return token if claimed == 1 else None


def release_lease(state: OverviewWorkerState, token: str) -> None:
    OverviewWorkerState.objects.filter(pk=state.pk, lease_token=token).update(
        lease_token="", lease_expires_at=None
    )


def open_run(
    state: OverviewWorkerState, trigger: str, now: datetime.datetime
) -> OverviewRun:
    # A run still marked running belonged to a worker that died holding an
    # expired lease; this run now holds the lease, so that one is over.
    OverviewRun.objects.filter(
        user_id=state.user_id, outcome=RunOutcome.RUNNING
    ).update(
        outcome=RunOutcome.ABANDONED,
        finished_at=now,
        error="The worker stopped before the run finished.",
    )
    return OverviewRun.objects.create(
        user=state.user,
        trigger=trigger,
        window_start=state.last_run_at,
        window_end=now,
        started_at=now,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def record_failure(
    state: OverviewWorkerState, run: OverviewRun, error: BaseException, started: float
) -> None:
    """Record the failed run and count it; on the third in a row, tell the user."""
    message = str(error) or type(error).__name__
    events: list[Event] = []
    with transaction.atomic():
        state = OverviewWorkerState.objects.select_for_update().get(pk=state.pk)
        metadata = dict(state.metadata)
        failures = int(metadata.get("consecutive_failures", 0)) + 1
        metadata.update(
            consecutive_failures=failures,
            last_error=message,
            last_error_at=timezone.now().isoformat(),
        )
        if failures >= FAILURES_BEFORE_NOTICE and not metadata.get("failing_notified"):
            notification = Notification.objects.create(
                user_id=state.user_id,
                type="ai_insight",
                priority="high",
                title="The overview analysis is failing",
                message=(
                    f"The last {failures} runs failed. The latest error: {message}"
                )[:2000],
                run=run,
            )
            metadata["failing_notified"] = True
            events.append(
                Event.objects.create(
                    user_id=state.user_id,
                    event=EventKind.NOTIFICATION,
                    data=notification_data(notification),
                )
            )
        OverviewWorkerState.objects.filter(pk=state.pk).update(metadata=metadata)

        run.outcome = RunOutcome.FAILED
        run.error = message[:5000]
        run.finished_at = timezone.now()
        run.duration_ms = _elapsed_ms(started)
        run.save(
            update_fields=[
                "outcome",
                "error",
                "finished_at",
                "duration_ms",
                "changes",
                "analyzer",
                "model",
            ]
        )
        events.append(
            Event.objects.create(
                user_id=state.user_id,
                event=EventKind.RUN_FINISHED,
                data={"run": run.pk, "outcome": "failed", "error": run.error},
            )
        )
    broadcast(events)


def _succeed(
    state: OverviewWorkerState,
    token: str,
    run: OverviewRun,
    actions: dict[str, Any],
    started: float,
) -> None:
    metadata = dict(state.metadata)
    metadata.update(
        last_success_at=timezone.now().isoformat(),
        consecutive_failures=0,
        failing_notified=False,
    )
    metadata.pop("last_error", None)
    metadata.pop("last_error_at", None)
    moved = OverviewWorkerState.objects.filter(pk=state.pk, lease_token=token).update(
        last_run_at=run.window_end, metadata=metadata
    )
    if moved != 1:
        raise LeaseLost(f"the lease on user {state.user_id} expired during the run")

    run.outcome = RunOutcome.SUCCEEDED
    run.actions = actions
    run.finished_at = timezone.now()
    run.duration_ms = _elapsed_ms(started)
    run.save(
        update_fields=[
            "outcome",
            "actions",
            "finished_at",
            "duration_ms",
            "changes",
            "analyzer",
            "model",
        ]
    )


def run_overview(
    state: OverviewWorkerState,
    *,
    trigger: str = "schedule",
    analyzer: Analyzer | None = None,
) -> OverviewRun | None:
    """Run the overview for ``state.user`` now; None when another run holds it."""
    token = take_lease(state)
    if token is None:
        logger.info("Overview for user %s is already running; skipped", state.user_id)
        return None
    try:
        return _run(state, token, trigger, analyzer)
    finally:
        release_lease(state, token)


def _run(
    state: OverviewWorkerState, token: str, trigger: str, analyzer: Analyzer | None
) -> OverviewRun:
    started = time.monotonic()
    state.refresh_from_db()
    run = open_run(state, trigger, timezone.now())
    try:
        changes = detect(state, until=run.window_end)
        run.changes = changes.counts()
        note = ""
        if not changes.has_changes:
            analysis = Analysis.nothing()
        else:
            if analyzer is None:
                choice = choose_analyzer()
                analyzer, note = choice.analyzer, choice.note
            run.analyzer, run.model = analyzer.name, analyzer.model
            analysis = analyzer.analyze(changes)

        with transaction.atomic():
            actions, events = execute(run, changes, analysis)
            if note:
                actions["analyzer_note"] = note
            _succeed(state, token, run, actions, started)
    except Exception as error:
        logger.exception("Overview run %s for user %s failed", run.pk, state.user_id)
        record_failure(state, run, error, started)
        raise

    broadcast(events)
    logger.info(
        "Overview run %s for user %s: %d changes %s, analyzer %s, "
        "%d notifications, %d items added, %d removed, forecast %s, %d ms",
        run.pk,
        state.user_id,
        sum(changes.totals.values()),
        changes.totals,
        run.analyzer or "not needed",
        len(actions["notifications"]),
        len(actions["action_items_added"]),
        len(actions["action_items_removed"]),
        "updated" if actions["forecast_updated"] else "unchanged",
        run.duration_ms,
    )
    return run
