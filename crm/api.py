"""The CRM over REST: each user sees and changes only their own rows.

Deleting a row soft-deletes it, so that the overview worker still sees the
deletion; a deleted row is gone from the API.
"""

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers, viewsets
from rest_framework.request import Request

from crm.models import (
    CalendarEvent,
    Contact,
    Deal,
    EventStatus,
    EventType,
    Level,
    Stage,
)
from flow_api.api import StrictModelSerializer

READ_ONLY = ["id", "inserted_at", "updated_at"]


class OwnedRelatedField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A link to another of the caller's own rows; another user's id is unknown."""

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context["request"]
        queryset = super().get_queryset()
        assert queryset is not None
        return queryset.filter(user=request.user, deleted_at__isnull=True)


class ContactSerializer(StrictModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "company",
            "email",
            "health_score",
            "sentiment",
            "churn_risk",
            "inserted_at",
            "updated_at",
        ]
        read_only_fields = READ_ONLY


class DealSerializer(StrictModelSerializer):
    contact = OwnedRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "company",
            "value",
            "currency",
            "stage",
            "probability",
            "expected_close_date",
            "contact",
            "inserted_at",
            "updated_at",
        ]
        read_only_fields = READ_ONLY
        extra_kwargs = {"currency": {"min_length": 3}}


class CalendarEventSerializer(StrictModelSerializer):
    deal = OwnedRelatedField(
        queryset=Deal.objects.all(), required=False, allow_null=True
    )
    contact = OwnedRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = CalendarEvent
        fields = [
            "id",
            "title",
            "type",
            "start_time",
            "end_time",
            "status",
            "deal",
            "contact",
            "inserted_at",
            "updated_at",
        ]
        read_only_fields = READ_ONLY

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start and end and end < start:
            raise serializers.ValidationError(
                {"end_time": ["The event cannot end before it starts."]}
            )
        return attrs


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, brought to UTC before it reaches the database.

    PostgreSQL refuses offsets past 15:59, which ISO 8601 allows.
    """

    def to_python(self, value: Any) -> datetime.datetime | None:
        moment: datetime.datetime | None = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(
                "Enter a moment between the years 1 and 9999.", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class UpdatedSinceFilter(django_filters.FilterSet):
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")


class ContactFilter(UpdatedSinceFilter):
    churn_risk = django_filters.MultipleChoiceFilter(choices=Level.choices)

    class Meta:
        model = Contact
        fields = ["churn_risk", "sentiment", "company"]


class DealFilter(UpdatedSinceFilter):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)

    class Meta:
        model = Deal
        fields = ["stage", "company", "contact"]


class CalendarEventFilter(UpdatedSinceFilter):
    status = django_filters.MultipleChoiceFilter(choices=EventStatus.choices)
    type = django_filters.MultipleChoiceFilter(choices=EventType.choices)

    class Meta:
        model = CalendarEvent
        fields = ["status", "type", "deal", "contact"]


class OwnedViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    model: type[Contact] | type[Deal] | type[CalendarEvent]
    request: Request

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.filter(
            user=self.request.user, deleted_at__isnull=True
        )

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.save(user=self.request.user)

    def perform_destroy(self, instance: Any) -> None:
        instance.deleted_at = timezone.now()
        instance.save(update_fields=["deleted_at", "updated_at"])


class ContactViewSet(OwnedViewSet):
    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["name", "company", "health_score", "updated_at", "inserted_at"]
    ordering = ["name"]


class DealViewSet(OwnedViewSet):
    model = Deal
    serializer_class = DealSerializer
    filterset_class = DealFilter
    ordering_fields = [
        "title",
        "value",
        "probability",
        "expected_close_date",
        "updated_at",
        "inserted_at",
    ]
    ordering = ["-updated_at"]

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().select_related("contact")


class CalendarEventViewSet(OwnedViewSet):
    model = CalendarEvent
    serializer_class = CalendarEventSerializer
    filterset_class = CalendarEventFilter
    ordering_fields = ["start_time", "title", "updated_at", "inserted_at"]
    ordering = ["start_time"]
