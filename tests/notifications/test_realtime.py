"""The live event socket, ``/ws/events/``, driven through the ASGI application
that daphne serves, over an in-memory channel layer."""

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from flow_api.asgi import application
from notifications import consumers
from notifications.broadcast import broadcast
from notifications.models import Event
from notifications.realtime import Holder, issue_ticket

pytestmark = pytest.mark.django_db(transaction=True)

# The ticket endpoint on its own, so that these tests do not depend on how the
# project's URLs are laid out.

ORIGIN = b"http://127.0.0.1"


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client):
    """The Cookie header a browser signed in as ``client`` sends."""
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    return f"{cookie.key}={cookie.value}"


def log(user, kind="notification", **data):
    return Event.objects.create(user=user, event=kind, data=data)


def log_and_broadcast(user, kind="notification", **data):
    event = log(user, kind, **data)
    broadcast([event])
    return event


def run(coroutine):
    """Await ``coroutine`` from a sync test.

    Under async_to_sync the consumer's database calls run on the test's own
    thread, with the test's connection.
    """

    async def awaited():
        return await coroutine

    return async_to_sync(awaited)()


async def open_socket(query="", cookie=None):
    headers = [(b"origin", ORIGIN)]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    socket = WebsocketCommunicator(application, f"/ws/events/{query}", headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def hears_the_next_event(socket, user):
    """Whether ``socket`` receives the event logged for ``user`` next."""
    event = await database_sync_to_async(log_and_broadcast)(user)
    message = await socket.receive_json_from(timeout=1)
    return message["id"] == event.pk


async def close_code(socket):
    message = await socket.receive_output(timeout=1)
    assert message["type"] == "websocket.close"
    return message["code"]


async def refusal(query="", cookie=None):
    socket = await open_socket(query, cookie)
    code = await close_code(socket)
    await socket.disconnect(code)
    return code


# Authentication


def test_a_session_cookie_connection_receives_its_users_events(alice):
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket(cookie=cookie)
        event = await database_sync_to_async(log_and_broadcast)(
            alice, "forecast_updated", total=1200
        )
        message = await socket.receive_json_from(timeout=1)
        await socket.disconnect()
        return event, message

    event, message = run(scenario())

    assert message == {
        "id": event.pk,
        "event": "forecast_updated",
        "data": {"total": 1200},
    }


def test_a_connection_receives_nothing_of_another_users_events(alice, bob):
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket(cookie=cookie)
        await database_sync_to_async(log_and_broadcast)(bob, title="Bob's")
        nothing = await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
        return nothing

    assert run(scenario())


def test_the_ticket_endpoint_gives_a_signed_in_user_a_short_lived_ticket(alice):
    response = signed_in(alice).post("/api/realtime/ticket")

    assert response.status_code == 200
    assert response.json()["expires_in"] == 30
    assert len(response.json()["ticket"]) >= 40


def test_the_ticket_endpoint_refuses_an_anonymous_caller(client):
    response = client.post("/api/realtime/ticket")

    assert response.status_code in (401, 403)


def test_a_ticket_from_the_endpoint_opens_a_connection_for_its_user(alice):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice)}")
    ticket = api.post("/api/realtime/ticket").json()["ticket"]

    async def scenario():
        socket = await open_socket(f"?ticket={ticket}")
        heard = await hears_the_next_event(socket, alice)
        await socket.disconnect()
        return heard

    assert run(scenario())


def test_a_ticket_opens_only_one_connection(alice):
    ticket = issue_ticket(Holder(alice.pk))

    async def scenario():
        first = await open_socket(f"?ticket={ticket}")
        await first.receive_nothing(timeout=0.1)
        code = await refusal(f"?ticket={ticket}")
        await first.disconnect()
        return code

    assert run(scenario()) == 4401


def test_an_unknown_ticket_is_refused_even_with_a_session_cookie(alice):
    cookie = cookie_of(signed_in(alice))

    assert run(refusal("?ticket=made-up", cookie)) == 4401


def test_an_expired_ticket_is_refused(alice, settings):
    settings.REALTIME_TICKET_SECONDS = 1
    ticket = issue_ticket(Holder(alice.pk))

    time.sleep(1.2)

    assert run(refusal(f"?ticket={ticket}")) == 4401


def test_a_ticket_of_a_user_deactivated_since_is_refused(alice):
    ticket = issue_ticket(Holder(alice.pk))
    alice.is_active = False
    alice.save()

    assert run(refusal(f"?ticket={ticket}")) == 4401


def test_a_ticket_of_a_session_that_has_logged_out_since_is_refused(alice):
    browser = signed_in(alice)
    ticket = browser.post("/api/realtime/ticket").json()["ticket"]
    browser.logout()

    assert run(refusal(f"?ticket={ticket}")) == 4401


def test_a_connection_without_credentials_is_refused(db):
    assert run(refusal()) == 4401


def test_a_session_cookie_of_a_deactivated_user_is_refused(alice):
    cookie = cookie_of(signed_in(alice))
    alice.is_active = False
    alice.save()

    assert run(refusal(cookie=cookie)) == 4401


def test_a_handshake_from_a_foreign_origin_is_rejected(alice):
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = WebsocketCommunicator(
            application,
            "/ws/events/",
            [(b"origin", b"https://evil.example"), (b"cookie", cookie.encode())],
        )
        connected, _ = await socket.connect()
        return connected

    assert run(scenario()) is False


# Catching up with ``since``


def test_since_replays_exactly_the_users_later_events_in_order(alice, bob):
    seen = log(alice, title="seen")
    log(bob, title="not alice's")
    missed = [log(alice, "forecast_updated"), log(alice, title="missed")]
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket(f"?since={seen.pk}", cookie)
        replayed = [await socket.receive_json_from(timeout=1) for _ in missed]
        nothing_else = await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
        return replayed, nothing_else

    replayed, nothing_else = run(scenario())

    assert [message["id"] for message in replayed] == [event.pk for event in missed]
    assert replayed[0]["event"] == "forecast_updated"
    assert nothing_else


def test_after_the_replay_the_connection_goes_on_live(alice):
    seen = log(alice)
    missed = log(alice)
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket(f"?since={seen.pk}", cookie)
        replayed = await socket.receive_json_from(timeout=1)
        heard = await hears_the_next_event(socket, alice)
        await socket.disconnect()
        return replayed, heard

    replayed, heard = run(scenario())

    assert replayed["id"] == missed.pk
    assert heard


def test_an_event_logged_while_the_replay_is_read_arrives_exactly_once(
    alice, monkeypatch
):
    missed = log(alice, "forecast_updated")
    around_the_read = []
    read_log = consumers.read_log

    def read_while_a_run_finishes(user_id, since, limit):
        # A run commits and broadcasts one event just before the log is read,
        # so the event is both in the replay and waiting in the channel, and
        # one just after, so that it is only waiting in the channel.
        around_the_read.append(log_and_broadcast(alice, title="before"))
        messages = read_log(user_id, since, limit)
        around_the_read.append(log_and_broadcast(alice, "run_finished"))
        return messages

    monkeypatch.setattr(consumers, "read_log", read_while_a_run_finishes)
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket("?since=0", cookie)
        received = [await socket.receive_json_from(timeout=1) for _ in range(3)]
        nothing_else = await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
        return received, nothing_else

    received, nothing_else = run(scenario())

    expected = [missed.pk] + [event.pk for event in around_the_read]
    assert [message["id"] for message in received] == expected
    assert nothing_else


def test_a_replay_stops_at_its_limit_and_says_where(alice, monkeypatch):
    monkeypatch.setattr(consumers, "REPLAY_LIMIT", 2)
    events = [log(alice) for _ in range(3)]
    cookie = cookie_of(signed_in(alice))

    async def scenario():
        socket = await open_socket("?since=0", cookie)
        received = [await socket.receive_json_from(timeout=1) for _ in range(3)]
        await socket.disconnect()
        return received

    first, second, notice = run(scenario())

    assert [first["id"], second["id"]] == [events[0].pk, events[1].pk]
    assert notice == {
        "id": None,
        "event": "replay_truncated",
        "data": {"last_id": events[1].pk, "limit": 2},
    }


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", ""])
def test_a_since_that_is_not_a_whole_number_is_refused_with_4400(alice, since):
    cookie = cookie_of(signed_in(alice))

    assert run(refusal(f"?since={since}", cookie)) == 4400


# Closing on logout and deactivation


def test_deactivating_the_user_closes_the_connection(alice):
    cookie = cookie_of(signed_in(alice))

    def deactivate():
        alice.is_active = False
        alice.save()

    async def scenario():
        socket = await open_socket(cookie=cookie)
        await database_sync_to_async(deactivate)()
        code = await close_code(socket)
        await socket.disconnect()
        return code

    assert run(scenario()) == 4401


def test_logging_out_closes_that_sessions_connections_only(alice):
    leaving, staying = signed_in(alice), signed_in(alice)

    async def scenario():
        closing = await open_socket(cookie=cookie_of(leaving))
        open_still = await open_socket(cookie=cookie_of(staying))
        await sync_to_async(leaving.logout)()
        code = await close_code(closing)
        heard = await hears_the_next_event(open_still, alice)
        await closing.disconnect()
        await open_still.disconnect()
        return code, heard

    code, heard = run(scenario())

    assert code == 4401
    assert heard


def test_logging_out_closes_a_connection_opened_with_that_sessions_ticket(alice):
    browser = signed_in(alice)
    ticket = browser.post("/api/realtime/ticket").json()["ticket"]

    async def scenario():
        socket = await open_socket(f"?ticket={ticket}")
        await sync_to_async(browser.logout)()
        code = await close_code(socket)
        await socket.disconnect()
        return code

    assert run(scenario()) == 4401


def test_logging_out_leaves_a_connection_opened_with_an_api_tokens_ticket(alice):
    browser = signed_in(alice)
    ticket = issue_ticket(Holder(alice.pk))

    async def scenario():
        socket = await open_socket(f"?ticket={ticket}")
        await sync_to_async(browser.logout)()
        heard = await hears_the_next_event(socket, alice)
        await socket.disconnect()
        return heard

    assert run(scenario())
