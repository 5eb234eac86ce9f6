"""Websocket routes, mounted by ``flow_api.asgi``."""

from django.urls import path

from notifications.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi(), name="events"),
]
