"""manage.py remind_test_days [--date YYYY-MM-DD]: text each person in quarantine whose test
day it is, once a day each (beat runs it every morning; running it again sends nothing new).
The last line says what it did: `queued N reminders, M already sent`."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from screening import services
from wuyi.lib import cn


class Command(BaseCommand):
    help = "Remind people in quarantine of today's test, once each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The day (YYYY-MM-DD), today unless given.")

    def handle(self, *args, **options) -> None:
        day = timezone.localdate()
        if options["date"]:
            try:
                given = cn.parse_date(options["date"])
            except cn.NormalizeError:
                given = None
            if given is None:
                raise CommandError(f"--date: not a date: {options['date']!r} (YYYY-MM-DD)")
            if abs((given - day).days) > 1:
                raise CommandError("--date: only yesterday, today or tomorrow")
            day = given
        self.stdout.write(services.test_day_reminders(day=day).line())
