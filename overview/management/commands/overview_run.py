import datetime
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from overview.models import OverviewRun
from overview.run import run_overview
from overview.service import get_state


def run_record(run: OverviewRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "user": run.user.get_username(),
        "trigger": run.trigger,
        "outcome": run.outcome,
        "window_start": run.window_start.isoformat(),
        "window_end": run.window_end.isoformat(),
        "started_at": run.started_at.isoformat(),
        "duration_ms": run.duration_ms,
        "analyzer": run.analyzer,
        "model": run.model,
        "changes": run.changes,
        "actions": run.actions,
        "error": run.error,
    }


class Command(BaseCommand):
    help = "Run one overview for a user now and print the run's record as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even if the cooldown has not passed",
        )

    def handle(self, *args: Any, username: str, force: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        state = get_state(user)
        if state is None:
            raise CommandError(
                f"The overview worker is not enabled for {username}; enable it first "
                "(POST /api/overview/enable, or the admin)."
            )
        due_at = state.last_run_at + datetime.timedelta(seconds=state.cooldown_period)
        if not force and due_at > timezone.now():
            raise CommandError(
                f"The cooldown runs until {due_at.isoformat()}; use --force to run now."
            )

        try:
            run = run_overview(state, trigger="command")
        except Exception:
            run = OverviewRun.objects.filter(user=user).order_by("-started_at").first()
            if run is None:
                raise
        if run is None:
            raise CommandError(
                f"An overview run for {username} is already in progress."
            )
        self.stdout.write(json.dumps(run_record(run), indent=2))
        if run.outcome != "succeeded":
            raise CommandError(f"The run failed: {run.error}")
