"""Clients for API tests: signed in as a named user, speaking JSON."""

from typing import Any

from rest_framework.test import APIClient


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client
