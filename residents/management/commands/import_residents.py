"""manage.py import_residents FILE --community CODE [--compound CODE] [--dry-run]

The same import as the secretary's page, printing the same report.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from compounds.models import Community, Compound
from residents import services
from wuyi.lib.spreadsheets import ImportFileError


class Command(BaseCommand):
    help = "Import a resident list (xlsx or csv) into one community."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--community", required=True, help="community code")
        parser.add_argument("--compound", help="compound code, when the file has no 小区 column")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--skip-bad-rows", action="store_true", help="import the good rows")
        parser.add_argument("--user", help="user name recorded in the history")

    def handle(self, *args, **options) -> None:
        try:
            community = Community.objects.get(code=options["community"])
        except Community.DoesNotExist:
            raise CommandError(f"No community with code {options['community']}") from None
        compound = None
        if options["compound"]:
            try:
                compound = Compound.objects.get(code=options["compound"], community=community)
            except Compound.DoesNotExist:
                raise CommandError(
                    f"No compound {options['compound']} in community {community.code}"
                ) from None
        user = User.objects.filter(username=options["user"]).first() if options["user"] else None
        try:
            report = services.resident_import(
                path=options["file"],
                community_id=community.pk,
                compound_id=compound.pk if compound else None,
                by=user,
                dry_run=options["dry_run"],
                skip_bad_rows=options["skip_bad_rows"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc.message)) from None
        except services.ImportRefused as refused:
            self.print_report(refused.report)
            raise CommandError(str(refused.message)) from None
        self.print_report(report)
        if report.get("committed"):
            self.stdout.write(self.style.SUCCESS("Imported."))
        else:
            self.stdout.write("Dry run: nothing was written.")

    def print_report(self, report: dict) -> None:
        if not report:
            return
        self.stdout.write(
            f"rows {report['total_rows']}  new {report['new']}  updated {report['updated']}  "
            f"unchanged {report['unchanged']}  new households {report['new_households']}  "
            f"bad rows {report['bad_rows']}"
        )
        for error in report["errors"]:
            self.stdout.write(f"  row {error['row']}, {error['column']}: {error['message']}")
        hidden = report["error_count"] - len(report["errors"])
        if hidden > 0:
            self.stdout.write(f"  … and {hidden} more")
