from django.contrib import admin

from flow_api.admin import RecordAdmin
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

    @admin.display(boolean=True, description="lease")
    def leased(self, state: OverviewWorkerState) -> bool:
        return state.is_leased


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
