"""The ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from notifications.routing import websocket_urlpatterns  # noqa: E402

http_app = (
    ASGIStaticFilesHandler(django_asgi_app)
    if settings.SERVE_STATIC
    else django_asgi_app
)

# A browser sends the session cookie with a websocket from any page, so a
# handshake whose Origin is not one of ALLOWED_HOSTS is refused: otherwise
# another site could open the socket with the user's cookie and read along.
websocket_app = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
)

application = ProtocolTypeRouter({"http": http_app, "websocket": websocket_app})
