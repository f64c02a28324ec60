"""manage.py sms_dispatch: what the beat schedule runs every few seconds, by hand. Idempotent:
run it twice, or beside beat, and nothing is sent twice. The last line says what it did."""

import re

from django.core.management.base import BaseCommand, CommandError

from messaging import outbox
from messaging.tasks import publish_batch


class Command(BaseCommand):
    help = "Claim due SMS recipients and queue their batches for the worker."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seconds", type=float, default=None, help="Stop after this long (default: none)."
        )
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument(
            "--max-pending",
            type=int,
            default=None,
            help="Batches waiting for a worker at most (WUYI_SMS_MAX_PENDING_BATCHES).",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="When that many wait, wait for the worker instead of stopping.",
        )
        parser.add_argument(
            "--partition",
            default="",
            help="k/n: claim only ids ≡ k (mod n), to run n dispatchers side by side.",
        )

    def handle(self, *args, **options) -> None:
        partition = None
        if options["partition"]:
            match = re.fullmatch(r"(\d+)/(\d+)", options["partition"])
            if not match or not 0 <= int(match[1]) < int(match[2]):
                raise CommandError("--partition takes k/n with 0 <= k < n, e.g. 0/2")
            partition = (int(match[1]), int(match[2]))
        report = outbox.dispatch(
            publish=publish_batch,
            batch_size=options["batch_size"],
            max_seconds=options["seconds"],
            max_pending=options["max_pending"],
            wait=options["wait"],
            partition=partition,
        )
        self.stdout.write(str(report))
