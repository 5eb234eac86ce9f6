"""What a test needs to start one of the project's own processes (a web server,
a Celery worker) against this session's test database."""

from pathlib import Path
from urllib.parse import quote

from django.db import connection


def database_url() -> str:
    """DATABASE_URL for a process that should share the test database.

    Read after pytest-django has set the test database up, when the
    connection's settings name the test database rather than the real one.
    """
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}" if password else user
    address = db["HOST"] or "127.0.0.1"
    if db["PORT"]:
        address += f":{db['PORT']}"
    return f"postgres://{credentials}@{address}/{quote(db['NAME'], safe='')}"
