"""manage.py seed_demo: the Lanzhou demo data set and one account per role. Idempotent.

It lives here, at the top of the import graph, because it fills every app in turn.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from campaign.demo import seed_campaign
from care.demo import seed_care
from care.models import WelfareCheck
from compounds.demo import seed_places
from compounds.models import Building, Compound, District
from medical.demo import seed_medical
from medical.models import Ambulance, Escort
from messaging.demo import seed_messaging
from messaging.models import Message
from residents.demo import seed_residents
from residents.models import Resident, VulnerableTag
from sanitation.demo import seed_sanitation
from sanitation.models import Area, Round
from screening.demo import seed_screening
from supplies.demo import seed_supplies
from supplies.models import Order
from volunteers.demo import seed_volunteers
from volunteers.models import Shift, Volunteer


class Command(BaseCommand):
    help = "Load the Lanzhou demo data and demo accounts (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        seed_places()
        seed_residents()
        seed_volunteers()
        seed_sanitation()
        seed_medical()
        seed_supplies()
        seed_care()
        seed_messaging()
        seed_screening()

        seed_campaign()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {District.objects.count()} districts, "
                f"{Compound.objects.count()} compounds, {Building.objects.count()} buildings, "
                f"{Resident.objects.count()} residents, "
                f"{VulnerableTag.objects.count()} in the vulnerable-person ledger, "
                f"{Volunteer.objects.count()} volunteers, {Shift.objects.count()} shifts, "
                f"{Area.objects.count()} areas disinfected, {Round.objects.count()} rounds, "
                f"{Ambulance.objects.count()} ambulances, {Escort.objects.count()} escorts, "
                f"{Order.objects.count()} supply orders, "
                f"{WelfareCheck.objects.count()} welfare checks, "
                f"{Message.objects.count()} SMS campaigns."
            )
        )
