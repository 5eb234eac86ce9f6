"""How long one overview run takes around its analysis, and how many queries.

Seeds a user whose deals change between runs (10, 100 and 1,000 changed rows),
runs the pipeline with an analyzer that answers at once, and prints the median
and p95 time per run and the queries per run, beside the time of a bare
database round trip measured in the same run.

    python bench/run_overhead.py [--runs 30]

It uses DATABASE_URL when set, otherwise a throwaway SQLite file under var/.
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from crm.models import Contact, Deal  # noqa: E402
from overview import service  # noqa: E402
from overview.analysis.schema import Analysis  # noqa: E402
from overview.run import run_overview  # noqa: E402

ANALYSIS = Analysis.model_validate(
    {
        "forecast_impact": {"should_update": True, "reason": "deals moved"},
        "action_items": [
            {"action": "add", "title": "Call the buyer", "item_type": "task"},
            {"action": "remove", "pattern": "stale item"},
        ],
        "notifications": [
            {"type": "deal_update", "priority": "medium", "title": "Deals moved"}
        ],
    }
)


class InstantAnalyzer:
    name = "instant"
    model = ""

    def analyze(self, changes: object) -> Analysis:
        return ANALYSIS


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def round_trip(samples: int = 200) -> float:
    timings = []
    with connection.cursor() as cursor:
        for _ in range(samples):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def fresh_user(changed: int) -> tuple[User, list[Deal]]:
    username = f"bench-{changed}"
    User.objects.filter(username=username).delete()
    user = User.objects.create_user(username)
    contact = Contact.objects.create(user=user, name="Buyer", company="Initech")
    Deal.objects.bulk_create(
        Deal(user=user, title=f"Deal {n}", value=Decimal(1000 + n), contact=contact)
        for n in range(changed)
    )
    return user, list(Deal.objects.filter(user=user))


def measure(changed: int, runs: int) -> tuple[float, float, int]:
    user, deals = fresh_user(changed)
    state = service.enable(user)
    timings, queries = [], 0
    for attempt in range(runs):
        for deal in deals:
            deal.probability = 10 + attempt % 80
        Deal.objects.bulk_update(deals, ["probability"])
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run_overview(state, analyzer=InstantAnalyzer())
            timings.append(time.perf_counter() - started)
        queries = len(captured)
    return statistics.median(timings), percentile(timings, 0.95), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    # The channel layer is not what is measured here.
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers):
        bare = round_trip()
        print(f"database: {vendor}; runs per size: {args.runs}")
        print(f"bare round trip (SELECT 1), median: {bare * 1e3:.3f} ms")
        print(
            f"{'changed rows':>12}  {'median ms':>9}  {'p95 ms':>7}  "
            f"{'queries':>7}  {'round trips':>11}"
        )
        for changed in (10, 100, 1000):
            median, p95, queries = measure(changed, args.runs)
            print(
                f"{changed:>12}  {median * 1e3:>9.1f}  {p95 * 1e3:>7.1f}  "
                f"{queries:>7}  {median / bare:>11.0f}"
            )


if __name__ == "__main__":
    main()
