from collections.abc import Callable

from django.contrib import admin
from django.http import HttpResponseBase
from django.urls import URLPattern, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle

from crm.api import CalendarEventViewSet, ContactViewSet, DealViewSet
from notifications.api import ActionItemViewSet, ForecastView, NotificationViewSet
from notifications.realtime import TicketView
from overview import api as overview_api


class TokenView(ObtainAuthToken):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class Router(SimpleRouter):
    """Routes that answer with and without a trailing slash, as the API's do."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = Router()
router.register("contacts", ContactViewSet, basename="contact")
router.register("deals", DealViewSet, basename="deal")
router.register("events", CalendarEventViewSet, basename="event")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("action-items", ActionItemViewSet, basename="action-item")


def api(route: str, view: Callable[..., HttpResponseBase], name: str) -> URLPattern:
    return re_path(rf"^api/{route}/?$", view, name=name)


urlpatterns = [
    path("admin/", admin.site.urls),
    api("auth/token", TokenView.as_view(), "api-token"),
    api("overview/status", overview_api.StatusView.as_view(), "overview-status"),
    api("overview/enable", overview_api.EnableView.as_view(), "overview-enable"),
    api("overview/disable", overview_api.DisableView.as_view(), "overview-disable"),
    api("overview/config", overview_api.ConfigView.as_view(), "overview-config"),
    api("overview/run-now", overview_api.RunNowView.as_view(), "overview-run-now"),
    api("overview/runs", overview_api.RunListView.as_view(), "overview-runs"),
    api("forecast", ForecastView.as_view(), "forecast"),
    api("realtime/ticket", TicketView.as_view(), "realtime-ticket"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
