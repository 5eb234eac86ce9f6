"""Make believable changes in a user's CRM every few seconds, for a demo.

    python manage.py simulate_activity demo --interval 5
    python manage.py simulate_activity demo --enable-worker --cooldown 60

With ``--enable-worker`` the user's overview worker is turned on first, with
the given cooldown, so that the changes turn into notifications within a
minute or two. ``--count`` stops after that many changes.
"""

import logging
import random
import time
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.activity import make_change
from overview import service

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Make believable CRM changes for a user every few seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds between two changes (default 5).",
        )
        parser.add_argument("--count", type=int, help="Stop after this many changes.")
        parser.add_argument(
            "--enable-worker",
            action="store_true",
            help="Turn the user's overview worker on before starting.",
        )
        parser.add_argument(
            "--cooldown",
            type=int,
            default=60,
            help="With --enable-worker, the worker's cooldown in seconds (default 60).",
        )
        parser.add_argument(
            "--seed", type=int, help="Seed the choices, to repeat a sequence."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user is called {options['username']!r}.")
        if options["interval"] < 0:
            raise CommandError("--interval cannot be negative.")
        if options["enable_worker"]:
            try:
                service.enable(user, cooldown_period=options["cooldown"])
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None

        rng = random.Random(options["seed"])
        count: int | None = options["count"]
        logger.info(
            "Simulating activity for %s, one change every %ss",
            user.username,
            options["interval"],
        )
        made = 0
        try:
            while count is None or made < count:
                make_change(user, rng)
                made += 1
                if count is None or made < count:
                    time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        logger.info("Made %d changes for %s", made, user.username)
