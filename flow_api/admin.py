"""Shared pieces of the apps' admin pages."""

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

M = TypeVar("M", bound=models.Model)


class RecordAdmin(admin.ModelAdmin[M]):
    """An admin for rows that record what happened: they can be read, not edited.

    Deleting stays allowed, because deleting a user in the admin deletes their
    records with them and needs the permission to.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


class LiveListFilter(admin.SimpleListFilter):
    """Splits soft-deleted CRM rows from live ones."""

    title = "state"
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [("live", "Live"), ("deleted", "Deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset
