"""The dashboard in a real headless Chromium, against the live service.

One daphne and one Celery worker serve the whole module. Each test makes its
own user and CRM in the test database, commits them (the tests are
transactional), and drives the page as a person would.

Screenshots land in each test's temporary folder; set DASHBOARD_SCREENSHOTS
to a folder (e.g. ``docs``) to keep them there as well.
"""

import datetime
import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from crm.forecast import compute_forecast
from crm.models import Deal, ForecastSnapshot
from notifications.models import ActionItem, Event, Notification
from overview import service
from overview.analysis.rules import RulesAnalyzer
from overview.run import run_overview
from tests import factories
from tests.dashboard import live

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<img src=x onerror=alert(1)>"
# Long enough for a run to go from the click through the broker, the worker
# and the websocket to the page.
RUN_SECONDS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=(
            f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`,"
            " or set CHROMIUM_PATH to one"
        ),
    ),
]

playwright_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: pip install playwright",
)
expect = playwright_api.expect


@dataclass
class Site:
    url: str


@dataclass
class Visit:
    """One browser tab, with what it showed that no page should."""

    page: Any
    url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, user: User, path: str = "/") -> Any:
        sign_in(self.page, user, self.url)
        self.page.goto(path)
        expect(self.page.locator("[data-live]")).to_have_attribute("data-state", "live")
        return self.page


@pytest.fixture(scope="module")
def site(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    logs = tmp_path_factory.mktemp("service")
    # Both start at once; each takes a few seconds to load Django.
    web, url = live.web(logs)
    worker = live.worker(logs)
    try:
        web.wait()
        worker.wait()
    except Exception:
        live.stop(web, worker)
        raise
    yield Site(url)
    live.stop(web, worker)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright's synchronous API runs an event loop of its own in this
    # thread, which Django would otherwise take for async code and refuse
    # the tests' database queries in.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with playwright_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def visit(browser: Any, site: Site) -> Iterator[Visit]:
    live.forget_run_now_limits()
    context = browser.new_context(
        base_url=site.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    visit = Visit(page, site.url)

    def on_dialog(dialog: Any) -> None:
        visit.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    yield visit
    context.close()
    assert visit.errors == [], "the page's script failed"


def sign_in(page: Any, user: User, url: str) -> None:
    """Give the browser a session cookie for ``user``, as signing in would."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])


def salesperson(username: str = "dana") -> User:
    """A user with a password, a small CRM, an item, and the worker on."""
    user = User.objects.create_user(username)
    # The service's processes know only the real hashers, not the quick one
    # this test session uses; few iterations keep it quick all the same.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode("dana-password", hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    buyer = factories.contact(user, name="Hana Ito", company="Globex")
    factories.deal(
        user,
        title="Globex renewal",
        company="Globex",
        value=Decimal("120000"),
        stage="negotiation",
        probability=75,
        expected_close_date=timezone.localdate(),
        contact=buyer,
    )
    factories.deal(user, title="Initech pilot", value=Decimal("40000"), probability=25)
    ActionItem.objects.create(user=user, title="Send the Globex contract")
    service.enable(user)
    return user


def unread_badge(page: Any) -> Any:
    return page.locator("[data-unread-count]")


# Signing in and seeing the figures


def test_a_salesperson_signs_in_and_sees_the_forecast_and_items(visit: Visit) -> None:
    salesperson()
    page = visit.page

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("dana-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("[data-figure='total_pipeline']")).to_have_text("160,000")
    expect(page.locator("[data-figure='weighted_forecast']")).to_have_text("100,000")
    expect(page.locator("[data-items]")).to_contain_text("Send the Globex contract")
    expect(page.locator("[data-live]")).to_have_attribute("data-state", "live")


# Live updates


def test_run_now_brings_the_news_without_a_reload(visit: Visit) -> None:
    dana = salesperson()
    page = visit.open(dana)
    page.evaluate("window.sameDocument = true")
    deal = Deal.objects.get(user=dana, title="Globex renewal")
    deal.stage = "closed_won"
    deal.probability = 100
    deal.save()

    page.get_by_role("button", name="Run now").click()

    notes = page.locator("[data-notifications]")
    expect(notes).to_contain_text("Deal won: Globex renewal", timeout=RUN_SECONDS)
    expect(unread_badge(page)).to_have_text("1")
    expect(page.locator("[data-figure='weighted_forecast']")).to_have_text("10,000")
    expect(page.locator("[data-worker-status]")).to_contain_text("Run now")
    expect(page.locator("[data-run-now-message]")).to_have_text("The run finished.")
    assert page.evaluate("window.sameDocument") is True


def test_after_a_dropped_connection_the_page_catches_up(visit: Visit) -> None:
    dana = salesperson()
    seen = Event.objects.create(user=dana, event="run_finished", data={})
    sockets: list[tuple[Any, Any]] = []

    def through(socket: Any) -> None:
        sockets.append((socket, socket.connect_to_server()))

    visit.page.route_web_socket(re.compile(r"/ws/events/"), through)
    page = visit.open(dana)

    # Logged, but never broadcast: only a replay can bring it.
    missed = Notification.objects.create(
        user=dana, type="deal_update", title="Missed while away"
    )
    Event.objects.create(
        user=dana,
        event="notification",
        data={
            "id": str(missed.pk),
            "type": "deal_update",
            "priority": "medium",
            "title": missed.title,
            "message": "",
            "created_at": missed.created_at.isoformat(),
            "read_at": None,
        },
    )
    to_page, to_server = sockets[0]
    to_server.close()
    to_page.close(code=1012, reason="Service restart")

    expect(page.locator("[data-notifications]")).to_contain_text("Missed while away")
    expect(page.locator("[data-live]")).to_have_attribute("data-state", "live")
    assert sockets[0][0].url.endswith(f"since={seen.pk}")
    assert sockets[1][0].url.endswith(f"since={seen.pk}")
    expect(unread_badge(page)).to_have_text("1")


def test_signing_out_elsewhere_ends_the_live_updates(visit: Visit) -> None:
    page = visit.open(salesperson())
    token = next(
        cookie["value"]
        for cookie in page.context.cookies()
        if cookie["name"] == "csrftoken"
    )

    page.request.post("/accounts/logout/", headers={"X-CSRFToken": token})

    expect(page.locator("[data-live]")).to_have_attribute("data-state", "signed-out")
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


# Acting on items, notifications and the worker


def test_dismissing_an_item_removes_it_for_good(visit: Visit) -> None:
    dana = salesperson()
    page = visit.open(dana)
    items = page.locator("[data-items]")

    items.get_by_role("button", name="Dismiss").click()

    expect(items).not_to_contain_text("Send the Globex contract")
    expect(page.locator("[data-item-count]")).to_have_text("0")
    assert ActionItem.objects.get(user=dana).dismissed
    page.reload()
    expect(page.locator("[data-items-empty]")).to_be_visible()


def test_marking_a_notification_read_lowers_the_count(visit: Visit) -> None:
    dana = salesperson()
    for title in ("Deal won: Umbrella", "Hana Ito is at risk"):
        Notification.objects.create(user=dana, type="deal_update", title=title)
    page = visit.open(dana)
    expect(unread_badge(page)).to_have_text("2")

    page.locator(".note", has_text="Umbrella").get_by_role(
        "button", name="Mark read"
    ).click()

    expect(unread_badge(page)).to_have_text("1")
    assert Notification.objects.filter(user=dana, read_at__isnull=True).count() == 1
    page.get_by_role("button", name="Mark all read").click()
    expect(unread_badge(page)).to_be_hidden()


def test_the_worker_can_be_turned_off_and_on(visit: Visit) -> None:
    dana = salesperson()
    page = visit.open(dana)
    switch = page.get_by_role("switch")
    status = page.locator("[data-worker-status]")

    switch.click()
    expect(status).to_contain_text("Off")
    assert service.get_state(dana).enabled is False  # type: ignore[union-attr]
    expect(status.locator("[data-next-run]")).to_have_text("—")

    switch.click()
    expect(status).to_contain_text("every 15 min")
    expect(switch).to_be_checked()
    assert service.get_state(dana).enabled is True  # type: ignore[union-attr]


def test_an_invalid_cooldown_is_explained_beside_the_field(visit: Visit) -> None:
    dana = salesperson()
    page = visit.open(dana)

    page.get_by_label("Cooldown").fill("10")
    page.get_by_role("button", name="Save settings").click()

    error = page.locator("[data-error-for='cooldown_period']")
    expect(error).to_have_text("Ensure this value is greater than or equal to 60.")
    expect(page.get_by_label("Cooldown")).to_have_attribute("aria-invalid", "true")
    assert service.get_state(dana).cooldown_period == 900  # type: ignore[union-attr]

    page.get_by_label("Cooldown").fill("120")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("[data-config-message]")).to_have_text("Saved.")
    expect(error).to_be_hidden()
    expect(page.locator("[data-worker-status]")).to_contain_text("every 2 min")


def test_a_second_run_now_within_the_minute_says_when_to_try(visit: Visit) -> None:
    page = visit.open(salesperson())
    button = page.get_by_role("button", name="Run now")

    message = page.locator("[data-run-now-message]")
    button.click()
    # An idle worker may finish the run before the first message is read.
    expect(message).to_have_text(re.compile(r"^(Running|The run finished)"))
    button.click()

    expect(message).to_contain_text(re.compile(r"Try again in \d+ s"))
    expect(button).to_be_disabled()


def test_run_now_asks_to_turn_the_worker_on_first(visit: Visit) -> None:
    newcomer = User.objects.create_user("eli")
    page = visit.open(newcomer)

    page.get_by_role("button", name="Run now").click()

    expect(page.locator("[data-run-now-message]")).to_have_text(
        "Turn the worker on to run it."
    )


# Escaping


def test_hostile_titles_are_shown_as_text_live_and_on_load(visit: Visit) -> None:
    dana = salesperson()
    ActionItem.objects.create(user=dana, title=HOSTILE)
    hostile = factories.deal(
        dana, title=HOSTILE, value=Decimal("10000"), stage="negotiation"
    )
    page = visit.open(dana)
    expect(page.locator("[data-items]")).to_contain_text(HOSTILE)
    expect(page.locator("[data-changes]")).to_contain_text(HOSTILE)

    hostile.stage = "closed_won"
    hostile.save()
    page.get_by_role("button", name="Run now").click()

    expect(page.locator("[data-notifications] .row-title").first).to_have_text(
        f"Deal won: {HOSTILE}", timeout=RUN_SECONDS
    )
    assert page.locator("main img").count() == 0
    assert visit.dialogs == []


# How it looks


def demo_with_history() -> User:
    """The demo user after a busy morning: changes, a run, a month of history."""
    call_command("seed_demo", stdout=io.StringIO())
    demo = User.objects.get(username="demo")
    state = service.enable(demo, cooldown_period=300)
    call_command(
        "simulate_activity", "demo", "--count", "10", "--interval", "0", "--seed", "5"
    )

    forecast = compute_forecast(demo)
    now = timezone.now()
    trend = [0.82, 0.85, 0.84, 0.88, 0.9, 0.89, 0.93, 0.95, 0.94, 0.97, 0.99]
    for days_ago, share in zip(range(30, 0, -3), trend, strict=False):
        ForecastSnapshot.objects.create(
            user=demo,
            total_pipeline=forecast.total_pipeline * Decimal(share),
            weighted_forecast=forecast.weighted_forecast * Decimal(share),
            closing_this_month=forecast.closing_this_month,
            closing_this_month_count=forecast.closing_this_month_count,
            won_this_month=forecast.won_this_month,
            open_deals=forecast.open_deals,
            created_at=now - datetime.timedelta(days=days_ago),
        )
    run_overview(state, analyzer=RulesAnalyzer())
    call_command(
        "simulate_activity", "demo", "--count", "3", "--interval", "0", "--seed", "8"
    )
    return demo


def keep(shot: Path) -> None:
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if folder:
        shutil.copy(shot, Path(folder) / shot.name)


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("dashboard.png", 1440, 900), ("dashboard-phone.png", 390, 844)],
)
def test_the_page_reads_well_on_a_laptop_and_a_phone(
    visit: Visit, tmp_path: Path, name: str, width: int, height: int
) -> None:
    page = visit.page
    page.set_viewport_size({"width": width, "height": height})
    page = visit.open(demo_with_history())
    expect(page.locator("[data-chart] polyline")).to_have_count(1)

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=width > 1000)
    keep(shot)

    assert overflow == 0
