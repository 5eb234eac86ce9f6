"""Fixtures every test may ask for: named users, an operator, the session's Redis."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

# The fake Ollama server is a plugin of its own, so that any test can ask for
# it by name. It is registered only when its module is present.
FAKE_OLLAMA = Path(__file__).with_name("fake_ollama.py")
pytest_plugins = ["tests.fake_ollama"] if FAKE_OLLAMA.exists() else []


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    # The default hasher is slow on purpose, and the tests make many users.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        yield


@pytest.fixture
def alice(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "alice", email="alice@example.com", password="alice-password"
    )


@pytest.fixture
def bob(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user(
        "bob", email="bob@example.com", password="bob-password"
    )


@pytest.fixture
def operator(django_user_model: type[User], client: Client) -> Client:
    """A test client logged in as Olivia, a superuser who runs the admin."""
    olivia = django_user_model.objects.create_superuser(
        "olivia", email="olivia@example.com", password="olivia-password"
    )
    client.force_login(olivia)
    return client


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the session's settings point at (see tests/session_redis.py)."""
    url: str = settings.REDIS_URL
    return url


@pytest.fixture(autouse=True)
def local_cache(settings: Any) -> None:
    """Each test starts with empty throttle counters, kept in its own memory."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    from django.core.cache import cache

    cache.clear()
