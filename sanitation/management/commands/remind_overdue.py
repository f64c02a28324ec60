"""manage.py remind_overdue: the overdue sweep, by hand (each round is reminded once)."""

from django.core.management.base import BaseCommand

from sanitation import services


class Command(BaseCommand):
    help = "Remind cleaners of overdue rounds, then secretaries; each round once."

    def handle(self, *args, **options) -> None:
        self.stdout.write(services.rounds_remind_overdue().line())
