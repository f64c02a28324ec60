"""manage.py generate_rosters [--date YYYY-MM-DD]: the daily roster job, by hand."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sanitation import services
from wuyi.lib import cn
from wuyi.lib.errors import Refused


class Command(BaseCommand):
    help = (
        "Create the day's disinfection rounds for every compound whose status needs them. "
        "Idempotent: rounds that exist are left as they are."
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
            result = services.rosters_generate(day=day)
        except Refused as refused:
            raise CommandError(str(refused.message)) from None
        self.stdout.write(f"{day}: {result.compounds} compounds need a roster")
        if result.past:
            self.stdout.write(f"{result.past} rounds not created: their window had ended")
        self.stdout.write(result.line())
