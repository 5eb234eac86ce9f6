from typing import Any

from django.core.management.base import BaseCommand

from overview.tasks import dispatch_due


class Command(BaseCommand):
    help = (
        "Queue the runs of every user who is due now, as the beat does once a "
        "minute, and print how many were queued."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = dispatch_due.apply().get()
        self.stdout.write(f"Queued {queued} overview runs.")
