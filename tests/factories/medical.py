"""Hospitals, medical staff, ambulances, schedules, escorts (medical)."""

import factory
from django.utils import timezone

from .places import CompoundFactory
from .residents import ResidentFactory


class HospitalFactory(factory.django.DjangoModelFactory):
    """compound=: a hospital designated for that compound only, named after it."""

    class Meta:
        model = "medical.Hospital"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import Hospital

        compound = kwargs.pop("compound", None)
        compounds = kwargs.pop("compounds", [compound] if compound else [])
        districts = kwargs.pop("districts", [])
        n = Hospital.objects.count() + 1
        defaults = {
            "name": f"{compound.name if compound else '市'}第{n}医院",
            "services": ["dialysis", "emergency", "maternity", "chemotherapy", "general"],
        }
        defaults.update(kwargs)
        hospital = Hospital.objects.create(**defaults)
        hospital.compounds.set(compounds)
        hospital.districts.set(districts)
        return hospital


class MedicalStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "medical.MedicalStaff"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import MedicalStaff

        compound = kwargs.pop("compound", None) or CompoundFactory()
        defaults = {"compound": compound, "name": f"{compound.name}医生", "role": "doctor"}
        defaults.update(kwargs)
        return MedicalStaff.objects.create(**defaults)


class AmbulanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "medical.Ambulance"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import Ambulance

        compound = kwargs.pop("compound", None) or CompoundFactory()
        crew = kwargs.pop("crew", [])
        defaults = {
            "compound": compound,
            "plate": f"甘A{Ambulance.objects.count() + 12001}",
            "driver_name": f"{compound.name}司机",
        }
        defaults.update(kwargs)
        ambulance = Ambulance.objects.create(**defaults)
        ambulance.crew.set(crew)
        return ambulance


class ScheduleFactory(factory.django.DjangoModelFactory):
    """compound=: a dialysis schedule Mon/Wed/Fri 07:30 of a resident of that compound."""

    class Meta:
        model = "medical.Schedule"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from medical.models import Schedule

        compound = kwargs.pop("compound", None)
        resident = kwargs.pop("resident", None) or ResidentFactory(
            compound=compound or CompoundFactory()
        )
        defaults = {
            "compound_id": resident.compound_id,
            "resident": resident,
            "kind": "dialysis",
            "weekdays": [0, 2, 4],
            "time": datetime.time(7, 30),
            "hospital": kwargs.pop("hospital", None) or HospitalFactory(compound=resident.compound),
            "start_date": timezone.localdate(),
            "notes": resident.compound.name,
        }
        defaults.update(kwargs)
        return Schedule.objects.create(**defaults)


class EscortFactory(factory.django.DjangoModelFactory):
    """compound=: a requested dialysis escort tomorrow 07:30 of a resident of that compound."""

    class Meta:
        model = "medical.Escort"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from medical.models import Escort

        compound = kwargs.pop("compound", None)
        resident = kwargs.pop("resident", None) or ResidentFactory(
            compound=compound or CompoundFactory()
        )
        at = kwargs.pop("scheduled_at", None) or timezone.make_aware(
            datetime.datetime.combine(
                timezone.localdate() + datetime.timedelta(days=1), datetime.time(7, 30)
            )
        )
        defaults = {
            "compound_id": resident.compound_id,
            "resident": resident,
            "kind": "dialysis",
            "pickup": "1号楼1单元",
            "scheduled_at": at,
            "expected_return_at": at + datetime.timedelta(hours=4),
            "notes": resident.compound.name,
            "steps": [{"status": "requested", "at": at.isoformat(), "by": None, "by_name": ""}],
        }
        defaults.update(kwargs)
        return Escort.objects.create(**defaults)
