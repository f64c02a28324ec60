"""manage.py campaign_check COMPOUND_CODE: each item met or not, then `eligible` or
`not eligible: ITEM; ITEM…`. Exit 0 either way (a compound not found is an error)."""

from django.core.management.base import BaseCommand, CommandError

from campaign.selectors import evaluate_one
from compounds.models import Compound


class Command(BaseCommand):
    help = "Say whether a compound meets its district's epidemic-free standard, item by item."

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="the compound's code")

    def handle(self, *args, code: str, **options) -> None:
        compound = Compound.objects.filter(code=code).first()
        if compound is None:
            raise CommandError(f"No compound has the code {code!r}.")
        evaluation = evaluate_one(compound)
        for r in evaluation.items:
            mark = "met" if r.met else "NOT MET"
            self.stdout.write(f"[{mark}] {r.item.text} — {r.why}")
        if evaluation.eligible:
            self.stdout.write("eligible")
        elif not evaluation.items:
            self.stdout.write("not eligible: no checklist")
        else:
            self.stdout.write("not eligible: " + "; ".join(r.item.text for r in evaluation.failing))
