"""What the settings are when nothing is configured, and what they refuse.

Each test starts a fresh interpreter with an environment that holds nothing but
the variables the test names, because the settings are read once, at import.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

SHOW_SETTINGS = """
import json
import django
from django.conf import settings

django.setup()
print(json.dumps({
    "database": settings.DATABASES["default"],
    "redis_url": settings.REDIS_URL,
    "broker_url": settings.CELERY_BROKER_URL,
    "channel_hosts": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
    "debug": settings.DEBUG,
    "serve_static": settings.SERVE_STATIC,
    "analyzer": settings.OVERVIEW_ANALYZER,
}, default=str))
"""

JOURNAL_MODE = """
import django
from django.db import connection

django.setup()
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print(cursor.fetchone()[0])
"""

# Another connection, with no patience, tries to take the write lock while a
# Django transaction is open but has not written anything yet.
WRITE_LOCK_AT_BEGIN = """
import sqlite3
import sys
import django
from django.db import transaction

django.setup()
with transaction.atomic():
    other = sqlite3.connect(sys.argv[1], timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        print("free")
    except sqlite3.OperationalError as error:
        print(error)
"""


def run_python(code, *args, **environment):
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "flow_api.settings",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def show_settings(**environment):
    result = run_python(SHOW_SETTINGS, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def defaults():
    """The settings of an interpreter started with no configuration at all."""
    return show_settings()


def test_the_default_database_is_a_sqlite_file_under_var(defaults):
    database = defaults["database"]

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(settings.BASE_DIR / "var" / "flow_api.sqlite3")


def test_a_new_sqlite_connection_is_in_wal_mode(tmp_path):
    result = run_python(
        JOURNAL_MODE, DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wal"


def test_a_sqlite_transaction_takes_the_write_lock_when_it_begins(tmp_path):
    path = tmp_path / "locks.sqlite3"

    result = run_python(
        WRITE_LOCK_AT_BEGIN, str(path), DATABASE_URL=f"sqlite:///{path}"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is locked"


def test_the_default_redis_is_the_embedded_server_for_broker_and_channels(defaults):
    embedded = f"redis://127.0.0.1:{settings.EMBEDDED_REDIS_PORT}/0"

    assert settings.EMBEDDED_REDIS_PORT == 6390
    assert defaults["redis_url"] == embedded
    assert defaults["broker_url"] == embedded
    assert defaults["channel_hosts"] == [embedded]


def test_debug_and_static_files_are_on_by_default(defaults):
    assert defaults["debug"] is True
    assert defaults["serve_static"] is True


def test_debug_off_without_a_secret_key_stops_start_up():
    result = run_python(SHOW_SETTINGS, DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_debug_off_with_a_secret_key_starts():
    shown = show_settings(DEBUG="0", SECRET_KEY="a-long-random-value-" * 3)

    assert shown["debug"] is False


def test_an_unknown_analyzer_stops_start_up():
    result = run_python(SHOW_SETTINGS, OVERVIEW_ANALYZER="gpt")

    assert result.returncode != 0
    assert "ImproperlyConfigured: OVERVIEW_ANALYZER must be auto" in result.stderr


def test_the_default_analyzer_is_auto(defaults):
    assert defaults["analyzer"] == "auto"
