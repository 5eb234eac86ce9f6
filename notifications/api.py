"""Notifications and action items over REST, and the forecast they speak of."""

from typing import Any

import django_filters
from django.db.models import F, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.forecast import compute_forecast
from crm.models import ForecastSnapshot
from flow_api.api import caller
from notifications.models import ActionItem, Notification


class NotificationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Notification
        fields = ["id", "type", "priority", "title", "message", "read_at", "created_at"]
        read_only_fields = fields


class ActionItemSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = ActionItem
        fields = [
            "id",
            "icon",
            "title",
            "item_type",
            "created_by",
            "dismissed",
            "retired_at",
            "created_at",
        ]
        read_only_fields = fields


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["unread", "type", "priority"]


class NotificationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Notification],
):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "priority"]
    request: Request

    def get_queryset(self) -> QuerySet[Notification]:
        # Unread first, then newest first.
        return Notification.objects.filter(user=caller(self.request)).order_by(
            F("read_at").desc(nulls_first=True), "-created_at"
        )

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("ReadAll", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        marked = Notification.objects.filter(
            user=caller(request), read_at__isnull=True
        ).update(read_at=timezone.now())
        return Response({"marked": marked})


class ActionItemFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[
            ("open", "open"),
            ("dismissed", "dismissed"),
            ("retired", "retired"),
            ("all", "all"),
        ],
        method="by_status",
        empty_label=None,
    )

    class Meta:
        model = ActionItem
        fields = ["status", "item_type", "created_by"]

    def by_status(
        self, queryset: QuerySet[ActionItem], name: str, value: str
    ) -> QuerySet[ActionItem]:
        if value == "dismissed":
            return queryset.filter(dismissed=True)
        if value == "retired":
            return queryset.filter(retired_at__isnull=False)
        if value == "all":
            return queryset
        return queryset.filter(dismissed=False, retired_at__isnull=True)

    @property
    def qs(self) -> QuerySet[ActionItem]:
        # Without a status the open items are what a user wants to see.
        queryset: QuerySet[ActionItem] = super().qs
        if not self.data.get("status"):
            queryset = queryset.filter(dismissed=False, retired_at__isnull=True)
        return queryset


class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ActionItem],
):
    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    request: Request

    def get_queryset(self) -> QuerySet[ActionItem]:
        return ActionItem.objects.filter(user=caller(self.request))

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        if not item.dismissed:
            item.dismissed = True
            item.save(update_fields=["dismissed"])
        return Response(self.get_serializer(item).data)


class ForecastFiguresSerializer(serializers.Serializer):  # type: ignore[type-arg]
    total_pipeline = serializers.DecimalField(max_digits=16, decimal_places=2)
    weighted_forecast = serializers.DecimalField(max_digits=16, decimal_places=2)
    closing_this_month = serializers.DecimalField(max_digits=16, decimal_places=2)
    closing_this_month_count = serializers.IntegerField()
    won_this_month = serializers.DecimalField(max_digits=16, decimal_places=2)
    open_deals = serializers.IntegerField()


class ForecastSnapshotSerializer(ForecastFiguresSerializer):
    created_at = serializers.DateTimeField()


class ForecastSerializer(serializers.Serializer):  # type: ignore[type-arg]
    current = ForecastFiguresSerializer()
    snapshots = ForecastSnapshotSerializer(many=True)


class ForecastView(APIView):
    """The forecast from the caller's deals now, and its recent snapshots."""

    HISTORY = 30

    @extend_schema(responses=ForecastSerializer)
    def get(self, request: Request) -> Response:
        snapshots = ForecastSnapshot.objects.filter(user=caller(request)).order_by(
            "-created_at"
        )[: self.HISTORY]
        data: dict[str, Any] = {
            "current": compute_forecast(caller(request)),
            "snapshots": list(reversed(snapshots)),
        }
        return Response(ForecastSerializer(data).data)
