"""manage.py sms_poll_receipts: pull delivery receipts where the provider offers it (what beat
runs every five minutes). Idempotent."""

from django.core.management.base import BaseCommand

from messaging import outbox


class Command(BaseCommand):
    help = "Pull SMS delivery receipts from the provider."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{outbox.receipts_poll()} receipts applied")
