"""Write the districts' daily reports (xlsx) for a day: the beat task's work, for any past day.
Idempotent: a second run writes the same files again (each renamed into place whole)."""

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from compounds.models import District
from dashboards.reports import reports_write


class Command(BaseCommand):
    help = "Write each district's daily report (xlsx) for a day; the last line names the files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (Asia/Shanghai); today if not given")
        parser.add_argument("--district", help="the district's code; every district if not given")

    def handle(self, *args, **options) -> None:
        day = timezone.localdate()
        if options["date"]:
            try:
                day = datetime.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(
                    f"--date: not a date as YYYY-MM-DD: {options['date']!r}"
                ) from exc
            if day > timezone.localdate():
                raise CommandError(f"--date: {day} has not come yet")
        code = options["district"]
        if code is not None and not District.objects.filter(code=code).exists():
            raise CommandError(f"--district: no district with the code {code!r}")
        paths, replaced = reports_write(day, district_code=code)
        self.stdout.write(
            f"daily report {day}: wrote {len(paths)} file(s) ({replaced} replaced): "
            + (", ".join(str(p) for p in paths) or "no district")
        )
