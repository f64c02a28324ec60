"""manage.py book_escorts [--days N]: the recurring-escort booking job, by hand."""

from django.core.management.base import BaseCommand, CommandError

from medical import rules, services
from wuyi.lib.errors import Refused


class Command(BaseCommand):
    help = (
        "Create the escorts of every active recurring schedule for today and the next days. "
        "Idempotent: escorts that exist are left as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", default=rules.DEFAULT_BOOK_DAYS, help="how many days ahead (default 7)"
        )

    def handle(self, *args, **options) -> None:
        try:
            result = services.escorts_book(days=options["days"])
        except Refused as refused:
            raise CommandError(str(refused.message)) from None
        self.stdout.write(f"{result.schedules} active schedules")
        if result.past:
            self.stdout.write(f"{result.past} pickups not booked: their time had passed")
        self.stdout.write(result.line())
