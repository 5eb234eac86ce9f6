from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        # Logging out and deactivation close live connections through signal
        # receivers, which must be connected in every process that can log a
        # user out or deactivate one, not only in those that serve websockets.
        from notifications import realtime  # noqa: F401
