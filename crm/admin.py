from django.contrib import admin

from crm.models import CalendarEvent, Contact, Deal, ForecastSnapshot
from flow_api.admin import LiveListFilter, RecordAdmin


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = [
        "name",
        "company",
        "email",
        "health_score",
        "sentiment",
        "churn_risk",
        "user",
        "updated_at",
        "deleted_at",
    ]
    list_filter = [LiveListFilter, "churn_risk", "sentiment", "user"]
    search_fields = ["name", "company", "email", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["inserted_at", "updated_at"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin[Deal]):
    list_display = [
        "title",
        "company",
        "stage",
        "value",
        "currency",
        "probability",
        "expected_close_date",
        "contact",
        "user",
        "updated_at",
    ]
    list_filter = [LiveListFilter, "stage", "currency", "user"]
    search_fields = ["title", "company", "contact__name", "user__username"]
    date_hierarchy = "expected_close_date"
    list_select_related = ["user", "contact"]
    raw_id_fields = ["user", "contact"]
    readonly_fields = ["inserted_at", "updated_at"]


@admin.register(CalendarEvent)
class CalendarEventAdmin(admin.ModelAdmin[CalendarEvent]):
    list_display = [
        "title",
        "type",
        "status",
        "start_time",
        "end_time",
        "deal",
        "contact",
        "user",
    ]
    list_filter = [LiveListFilter, "type", "status", "user"]
    search_fields = ["title", "deal__title", "contact__name", "user__username"]
    date_hierarchy = "start_time"
    list_select_related = ["user", "deal", "contact"]
    raw_id_fields = ["user", "deal", "contact"]
    readonly_fields = ["inserted_at", "updated_at"]


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(RecordAdmin[ForecastSnapshot]):
    list_display = [
        "user",
        "created_at",
        "weighted_forecast",
        "total_pipeline",
        "closing_this_month",
        "closing_this_month_count",
        "won_this_month",
        "open_deals",
    ]
    list_filter = ["user"]
    search_fields = ["user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
