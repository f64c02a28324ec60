"""manage.py generate_welfare_checks [--date YYYY-MM-DD]: the daily welfare-check job, by hand.
Safe to run again, and two copies at once: each check is created once."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from care import services
from wuyi.lib import cn
from wuyi.lib.errors import Refused


class Command(BaseCommand):
    help = (
        "Give every ledger resident whose category is due a welfare check for the day, "
        "assigned to a volunteer of their compound. Idempotent: checks that exist are kept."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="the day, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options) -> None:
        day = timezone.localdate()
        if options["date"]:
            try:
                day = cn.parse_date(options["date"]) or day
            except cn.NormalizeError as exc:
                raise CommandError(str(exc.message)) from None
        try:
            result = services.checks_generate(day=day)
        except Refused as refused:
            raise CommandError(str(refused.message)) from None
        self.stdout.write(f"{day}: {result.residents} residents due")
        if result.unassigned:
            self.stdout.write(f"{result.unassigned} checks have no volunteer: no team serves")
        self.stdout.write(result.line())
