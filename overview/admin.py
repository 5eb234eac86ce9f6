from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from flow_api.admin import RecordAdmin
from overview import service
from overview.models import EntitySnapshot, OverviewRun, OverviewWorkerState


@admin.register(OverviewWorkerState)
class OverviewWorkerStateAdmin(admin.ModelAdmin[OverviewWorkerState]):
    list_display = [
        "user",
        "enabled",
        "cooldown_period",
        "last_run_at",
        "next_run_at",
        "leased",
    ]
    list_filter = ["enabled"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    # The lease belongs to whichever run holds it; editing it by hand could
    # let two runs work on the same user at once.
    readonly_fields = ["lease_token", "lease_expires_at", "inserted_at", "updated_at"]
    actions = ["enable", "disable", "run_now"]

    @admin.display(boolean=True, description="lease")
    def leased(self, state: OverviewWorkerState) -> bool:
        return state.is_leased

    @admin.action(description="Enable the worker for the selected users")
    def enable(
        self, request: HttpRequest, queryset: QuerySet[OverviewWorkerState]
    ) -> None:
        # Enabling again would push an enabled user's next run a cooldown
        # away, so only the disabled ones are touched.
        self._switch(request, queryset.filter(enabled=False), service.enable, "Enabled")

    @admin.action(description="Disable the worker for the selected users")
    def disable(
        self, request: HttpRequest, queryset: QuerySet[OverviewWorkerState]
    ) -> None:
        self._switch(
            request, queryset.filter(enabled=True), service.disable, "Disabled"
        )

    def _switch(
        self,
        request: HttpRequest,
        queryset: QuerySet[OverviewWorkerState],
        action: Callable[[User], object],
        done: str,
    ) -> None:
        states = list(queryset.select_related("user"))
        for state in states:
            action(state.user)
        users = "1 user" if len(states) == 1 else f"{len(states)} users"
        self.message_user(request, f"{done} the overview worker for {users}.")

    @admin.action(description="Run the overview now for the selected users")
    def run_now(
        self, request: HttpRequest, queryset: QuerySet[OverviewWorkerState]
    ) -> None:
        queued, busy, off = [], [], []
        for state in queryset.select_related("user").order_by("user__username"):
            name = state.user.get_username()
            try:
                started = service.run_now(state.user)
            except service.NotEnabled:
                off.append(name)
                continue
            if started:
                queued.append(name)
            else:
                busy.append(name)

        if queued:
            self.message_user(request, f"Queued a run for: {', '.join(queued)}.")
        if busy:
            self.message_user(
                request,
                f"A run is already queued or under way for: {', '.join(busy)}.",
                messages.WARNING,
            )
        if off:
            self.message_user(
                request,
                f"Not run, the worker is disabled for: {', '.join(off)}.",
                messages.WARNING,
            )


@admin.register(OverviewRun)
class OverviewRunAdmin(RecordAdmin[OverviewRun]):
    list_display = [
        "user",
        "started_at",
        "outcome",
        "trigger",
        "analyzer",
        "model",
        "changes_seen",
        "duration",
        "short_error",
    ]
    list_filter = ["outcome", "trigger", "analyzer", "model"]
    search_fields = ["user__username", "error"]
    date_hierarchy = "started_at"
    list_select_related = ["user"]

    @admin.display(description="total changes")
    def changes_seen(self, run: OverviewRun) -> int:
        return run.total_changes

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, run: OverviewRun) -> str:
        if run.duration_ms is None:
            return "-"
        return f"{run.duration_ms / 1000:.1f} s"

    @admin.display(description="error")
    def short_error(self, run: OverviewRun) -> str:
        first_line = run.error.strip().split("\n", 1)[0]
        return first_line if len(first_line) <= 80 else first_line[:79] + "…"


@admin.register(EntitySnapshot)
class EntitySnapshotAdmin(RecordAdmin[EntitySnapshot]):
    list_display = ["entity_type", "entity_id", "user", "seen_at"]
    list_filter = ["entity_type"]
    search_fields = ["entity_id", "user__username"]
    date_hierarchy = "seen_at"
    list_select_related = ["user"]
