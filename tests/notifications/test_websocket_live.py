"""The live event socket end to end: daphne serving the project on a free port,
a real websocket client, and runs in this process broadcasting over Redis.

The server shares this session's test database and Redis, so the tests commit
what it must see (``transaction=True``).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from flow_api.embedded_redis import free_port
from notifications.broadcast import broadcast
from notifications.models import Event
from notifications.realtime import Holder, issue_ticket
from overview import service
from overview.run import run_overview
from tests import factories
from tests.overview.conftest import StaticAnalyzer
from tests.processes import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
DAPHNE = Path(sys.executable).with_name("daphne")


def wait_until_listening(process, port, log, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")
                message = f"daphne did not start on port {port}:\n{output}"
                raise RuntimeError(message) from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server(django_db_setup, redis_url):
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flow_api.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
    }
    command = [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*command, "flow_api.asgi:application"],
            cwd=BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_listening(process, port, log)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def browser_of(server):
    """Opens ``/ws/events/`` on the live server as a browser signed in as a user."""
    opened = contextlib.ExitStack()

    def open_as(user=None, query=""):
        headers = {}
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
            headers["Cookie"] = f"{cookie.key}={cookie.value}"
        return opened.enter_context(
            connect(
                f"ws://{server}/ws/events/{query}",
                origin=f"http://{server}",
                additional_headers=headers,
                open_timeout=5,
            )
        )

    with opened:
        yield open_as


def receive(ws: ClientConnection, timeout: float = 1.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return message


def receive_until(ws, kind, timeout=1.0):
    """Every message up to and including the first of ``kind``, within
    ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    messages = []
    while not messages or messages[-1]["event"] != kind:
        messages.append(receive(ws, max(0.0, deadline - time.monotonic())))
    return messages


def close_code(ws):
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=2)
    return closed.value.rcvd.code


def deal_change_run(state, deal, stage, title):
    """A run that sees ``deal`` move to ``stage`` and notifies about it."""
    deal.stage = stage
    deal.save()
    analyzer = StaticAnalyzer(
        notifications=[
            {"type": "deal_update", "priority": "high", "title": title, "message": ""}
        ]
    )
    return run_overview(state, trigger="run_now", analyzer=analyzer)


@pytest.fixture
def deal(alice):
    return factories.deal(alice, title="Initech renewal", stage="qualified")


@pytest.fixture
def state(alice, deal):
    return service.enable(alice)


def test_a_runs_notification_reaches_the_browser_within_a_second(
    alice, deal, state, browser_of
):
    ws = browser_of(alice)

    deal_change_run(state, deal, "proposal", "Initech renewal: proposal sent")
    messages = receive_until(ws, "notification", timeout=1.0)

    logged = Event.objects.get(user=alice, event="notification")
    assert messages[-1]["id"] == logged.pk
    assert messages[-1]["data"]["title"] == "Initech renewal: proposal sent"


def test_another_users_browser_hears_nothing_of_the_run(
    alice, bob, deal, state, browser_of
):
    alices, bobs = browser_of(alice), browser_of(bob)

    deal_change_run(state, deal, "proposal", "For Alice only")
    receive_until(alices, "run_finished")

    with pytest.raises(TimeoutError):
        bobs.recv(timeout=0.5)


def test_a_browser_that_reconnects_with_since_gets_exactly_what_it_missed(
    alice, deal, state, browser_of
):
    ws = browser_of(alice)
    deal_change_run(state, deal, "proposal", "Proposal sent")
    last_seen = receive_until(ws, "run_finished")[-1]["id"]
    ws.close()

    deal_change_run(state, deal, "negotiation", "In negotiation")
    missed = list(
        Event.objects.filter(user=alice, id__gt=last_seen).values_list("id", flat=True)
    )
    ws = browser_of(alice, f"?since={last_seen}")
    replayed = [receive(ws)["id"] for _ in missed]

    assert len(missed) >= 2
    assert replayed == missed
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.5)


def test_a_ticket_opens_one_connection_and_is_refused_the_second_time(
    alice, browser_of
):
    ticket = issue_ticket(Holder(alice.pk))
    first = browser_of(query=f"?ticket={ticket}")

    second = browser_of(query=f"?ticket={ticket}")

    assert close_code(second) == 4401
    event = Event.objects.create(user=alice, event="notification", data={})
    broadcast([event])
    assert receive(first)["id"] == event.pk


def test_a_made_up_ticket_is_refused(db, browser_of):
    ws = browser_of(query="?ticket=not-a-ticket")

    assert close_code(ws) == 4401
