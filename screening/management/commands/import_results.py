"""manage.py import_results FILE --round N [--district CODE] [--dry-run] [--user NAME]

The same checks and report as the import page. The last line is
``matched M of N rows: P positive pools, C cases, U unmatched``; with --dry-run nothing is
written. A refused file exits 1 with its rows named."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from screening import importing, services
from screening.models import TestingRound
from wuyi.lib.errors import Refused


class Command(BaseCommand):
    help = "Import a lab's result sheet (xlsx or csv) into a testing round."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--round", type=int, required=True, dest="number")
        parser.add_argument("--district", help="district code (needed when several have round N)")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--user", help="who imports (default: the first superuser)")

    def handle(self, *args, file, number, district=None, dry_run=False, user=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        rounds = TestingRound.objects.filter(number=number)
        if district:
            rounds = rounds.filter(district__code=district)
        found = list(rounds[:2])
        if not found:
            raise CommandError(f"no round {number}")
        if len(found) > 1:
            raise CommandError(f"several districts have round {number}: give --district")
        testing_round = found[0]
        by = (
            User.objects.get(username=user)
            if user
            else User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        if by is None:
            raise CommandError("no user to import as: give --user")
        try:
            plan = importing.read_results(path, testing_round)
        except Refused as refused:
            self.stderr.write(refused.located())
            raise SystemExit(1) from None
        if plan.ignored_columns:
            self.stdout.write("columns ignored: " + ", ".join(plan.ignored_columns))
        for word, rows in plan.unknown_words.items():
            self.stdout.write(f"unknown result {word!r} on rows {', '.join(map(str, rows[:20]))}")
        if plan.errors:
            for error in plan.errors:
                self.stderr.write(f"row {error.row}, {error.column}: {error.message}")
            self.stdout.write(plan.summary())
            raise SystemExit(1)
        if not dry_run:
            services.results_commit(
                round_id=testing_round.pk, plan=plan, file_name=path.name, by=by
            )
        self.stdout.write(plan.summary())
