from django.contrib import admin

from flow_api.admin import RecordAdmin
from notifications.models import ActionItem, Event, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ["title", "type", "priority", "user", "created_at", "read", "run"]
    list_filter = ["type", "priority", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "message", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "run"]
    raw_id_fields = ["user", "run"]

    @admin.display(boolean=True, ordering="read_at")
    def read(self, notification: Notification) -> bool:
        return notification.read_at is not None


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin[ActionItem]):
    list_display = [
        "title",
        "item_type",
        "icon",
        "user",
        "created_by",
        "open",
        "dismissed",
        "retired_at",
        "created_at",
    ]
    list_filter = ["item_type", "created_by", "dismissed"]
    search_fields = ["title", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    raw_id_fields = ["user", "run"]
    readonly_fields = ["normalised_title"]

    @admin.display(boolean=True)
    def open(self, item: ActionItem) -> bool:
        return item.is_open


@admin.register(Event)
class EventAdmin(RecordAdmin[Event]):
    list_display = ["id", "event", "user", "created_at"]
    list_filter = ["event"]
    search_fields = ["user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
