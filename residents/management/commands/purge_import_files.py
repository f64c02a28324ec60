"""manage.py purge_import_files [--hours 24]: what the hourly task does, by hand."""

import datetime

from django.core.management.base import BaseCommand

from residents import services


class Command(BaseCommand):
    help = "Delete uploaded resident lists left behind, and end their jobs (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--hours", type=int, default=24, help="age of what is purged")

    def handle(self, *args, **options) -> None:
        deleted, ended = services.import_files_purge(
            older_than=datetime.timedelta(hours=options["hours"])
        )
        self.stdout.write(f"deleted {deleted} files, ended {ended} jobs")
