"""The overview worker's REST endpoints: status, enable, disable, config, run-now,
and the run history. Each view is a few lines around a call to the service."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from flow_api.api import ApiError, StrictSerializer, caller
from overview import service
from overview.models import (
    MAX_COOLDOWN,
    MIN_COOLDOWN,
    OBSERVABLE,
    OverviewRun,
    OverviewWorkerState,
)

NOT_FOUND = ApiError("Overview worker not found", status=404, code="not_found")
DISABLED = ApiError(
    "The overview worker is turned off; enable it first",
    status=409,
    code="disabled",
)


class RunSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = OverviewRun
        fields = [
            "id",
            "trigger",
            "outcome",
            "window_start",
            "window_end",
            "started_at",
            "finished_at",
            "duration_ms",
            "changes",
            "analyzer",
            "model",
            "actions",
            "error",
        ]
        read_only_fields = fields


class StateSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = OverviewWorkerState
        fields = [
            "enabled",
            "last_run_at",
            "next_run_at",
            "cooldown_period",
            "observers",
            "metadata",
            "last_run",
        ]
        read_only_fields = fields

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_last_run(self, state: OverviewWorkerState) -> dict[str, Any] | None:
        run = (
            OverviewRun.objects.filter(user_id=state.user_id)
            .order_by("-started_at")
            .first()
        )
        return RunSerializer(run).data if run else None


class ConfigSerializer(StrictSerializer):
    cooldown_period = serializers.IntegerField(
        min_value=MIN_COOLDOWN, max_value=MAX_COOLDOWN, required=False
    )
    observers = serializers.ListField(
        child=serializers.ChoiceField(choices=OBSERVABLE),
        allow_empty=False,
        required=False,
    )

    def validate_observers(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each observer may be named once.")
        return value


def _state_response(state: OverviewWorkerState) -> Response:
    return Response({"success": True, "state": StateSerializer(state).data})


STATE_RESPONSE = inline_serializer(
    "StateResponse",
    {"success": serializers.BooleanField(), "state": StateSerializer()},
)


class StatusView(APIView):
    @extend_schema(responses=StateSerializer)
    def get(self, request: Request) -> Response:
        state = service.get_state(caller(request))
        if state is None:
            return Response({"enabled": False})
        return Response(StateSerializer(state).data)


class EnableView(APIView):
    @extend_schema(request=ConfigSerializer, responses=STATE_RESPONSE)
    def post(self, request: Request) -> Response:
        config = ConfigSerializer(data=request.data)
        config.is_valid(raise_exception=True)
        return _state_response(service.enable(caller(request), **config.validated_data))


class DisableView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "Disabled", {"success": serializers.BooleanField()}
        ),
    )
    def post(self, request: Request) -> Response:
        try:
            service.disable(caller(request))
        except service.NotEnabled:
            raise NOT_FOUND from None
        return Response({"success": True})


class ConfigView(APIView):
    @extend_schema(request=ConfigSerializer, responses=STATE_RESPONSE)
    def patch(self, request: Request) -> Response:
        config = ConfigSerializer(data=request.data, partial=True)
        config.is_valid(raise_exception=True)
        try:
            state = service.update_config(caller(request), config.validated_data)
        except service.NotEnabled:
            raise NOT_FOUND from None
        return _state_response(state)


class RunNowView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "run_now"

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "RunNow",
                {
                    "success": serializers.BooleanField(),
                    "queued": serializers.BooleanField(),
                    "message": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        try:
            queued = service.run_now(caller(request))
        except service.Disabled:
            raise DISABLED from None
        except service.NotEnabled:
            raise NOT_FOUND from None
        message = (
            "Overview worker scheduled"
            if queued
            else "A run is already queued or running"
        )
        return Response({"success": True, "queued": queued, "message": message})


class RunListView(generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = RunSerializer
    filter_backends: list[Any] = []
    request: Request

    def get_queryset(self) -> QuerySet[OverviewRun]:
        return OverviewRun.objects.filter(user=caller(self.request)).order_by(
            "-started_at"
        )
