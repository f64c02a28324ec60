"""Demo medical support: 市一院 designated for the district, a medical worker and two
ambulances for every sealed compound (a controlled one left short, so the coverage page has a
flag), dialysis schedules (Mon/Wed/Fri 07:30) booked a week ahead, and the past ten days'
emergencies. Idempotent: what exists is left as it is."""

import datetime
import random

from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import User
from compounds.demo import STATUS_STORY
from compounds.models import Compound, ControlStatus, District
from messaging.models import SmsTemplate
from residents.models import Category, Resident, VulnerableTag
from wuyi.lib.localday import aware, start_of

from . import notify, services
from .models import (
    Ambulance,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
    Schedule,
    Service,
    StaffRole,
)

STAFF_PERMISSIONS = [
    "view_hospital",
    "view_medicalstaff",
    "add_medicalstaff",
    "change_medicalstaff",
    "view_ambulance",
    "add_ambulance",
    "change_ambulance",
    "view_escort",
    "view_schedule",
]
SYMPTOMS = ["胸痛", "呼吸困难", "高烧不退", "摔伤", "腹痛", "血压升高", "晕厥", "临产"]
DOCTORS = ["陈静", "马晓燕", "杨光", "何文", "罗丽", "高建军"]


def seed_medical() -> int:
    """Returns the number of escorts booked by the schedules."""
    rng = random.Random(2023)  # noqa: S311 - demo data
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is None:
        return 0
    first, _ = Hospital.objects.get_or_create(
        name="兰州市第一人民医院",
        defaults={
            "short_name": "市一院",
            "address": "兰州市七里河区西津东路1号",
            "phone": "0931-2335111",
            "services": [s.value for s in Service],
        },
    )
    provincial, _ = Hospital.objects.get_or_create(
        name="甘肃省人民医院",
        defaults={
            "short_name": "省人民医院",
            "address": "兰州市城关区东岗西路204号",
            "services": [Service.DIALYSIS, Service.CHEMOTHERAPY, Service.GENERAL],
        },
    )
    districts = list(District.objects.all())
    first.districts.add(*districts)
    provincial.districts.add(*districts)
    medic = User.objects.filter(username="medic").first()
    # The compounds the demo's story puts under control, not whatever is sealed by now (the
    # screening demo seals one more with its case: a second seed_demo must not staff it).
    story = {name: status for name, status, _reason in STATUS_STORY}
    demo = Compound.objects.filter(name__in=story).order_by("pk")
    sealed = [c for c in demo if c.status == ControlStatus.SEALED == story[c.name]]
    controlled = [c for c in demo if c.status == ControlStatus.CONTROLLED == story[c.name]]
    for n, compound in enumerate(sealed):
        _cover(compound, n, cars=2, medic=medic if compound.name == "天庆丽舍" else None)
    for n, compound in enumerate(controlled):
        # The first controlled compound is left short: the coverage page flags it.
        _cover(compound, len(sealed) + n, cars=1 if n == 0 else 2, staffed=n != 0)
    _schedules(admin, first, sealed)
    created = services.escorts_book(days=7).created
    _past_emergencies(rng, admin, first, sealed)
    # The secretaries and staff keep their compounds' medical staff and ambulances in the admin.
    group = Group.objects.filter(name="Wuyi staff").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="medical").filter(
                codename__in=STAFF_PERMISSIONS
            )
        )
    for n, name in enumerate((notify.PICKUP, notify.CREW)):
        SmsTemplate.objects.filter(name=name, approved=False).update(
            code=f"SMS_27015040{n}", approved=True
        )
    return created


def _cover(compound: Compound, n: int, *, cars: int, medic=None, staffed: bool = True) -> None:
    if staffed and not MedicalStaff.objects.filter(compound=compound).exists():
        MedicalStaff.objects.create(
            compound=compound,
            user=medic,
            name=medic.display_name if medic else DOCTORS[n % len(DOCTORS)],
            phone=f"1389310{n:04d}",
            role=StaffRole.DOCTOR,
        )
    for car in range(cars):
        plate = f"甘A{compound.pk % 100:02d}{car + 1}20"
        Ambulance.objects.get_or_create(
            plate=plate,
            defaults={
                "compound": compound,
                "driver_name": "王师傅" if car == 0 else "李师傅",
                "driver_phone": f"1369310{n:02d}{car:02d}",
            },
        )


def _dialysis_patient(compound: Compound) -> Resident | None:
    tag = (
        VulnerableTag.objects.filter(
            resident__compound=compound, category=Category.CHRONIC, treatment="透析"
        )
        .select_related("resident")
        .order_by("pk")
        .first()
    )
    if tag is not None:
        return tag.resident
    return Resident.objects.filter(compound=compound, left_on__isnull=True).order_by("pk").first()


def _schedules(admin: User, hospital: Hospital, sealed: list[Compound]) -> None:
    """Mr Zhang's dialysis (东湖小区) and one in every other sealed compound: Mon/Wed/Fri
    07:30 to 市一院 in the compound's first ambulance."""
    today = timezone.localdate()
    for compound in sealed:
        resident = _dialysis_patient(compound)
        if resident is None or Schedule.objects.filter(resident=resident).exists():
            continue
        ambulance = Ambulance.objects.filter(compound=compound).order_by("plate").first()
        staff = MedicalStaff.objects.filter(compound=compound).order_by("pk").first()
        services.schedule_save(
            by=admin,
            resident=resident,
            kind=EscortKind.DIALYSIS,
            weekdays=[0, 2, 4],
            time=datetime.time(7, 30),
            hospital=hospital,
            start_date=today - datetime.timedelta(days=14),
            ambulance=ambulance,
            staff=staff,
            notes="血液净化中心",
        )


def _past_emergencies(rng, admin: User, hospital: Hospital, sealed: list[Compound]) -> None:
    """Two or three emergencies a day over the past ten days, across the sealed compounds,
    each gone to hospital and back (or admitted)."""
    today = timezone.localdate()
    start = start_of(today)
    if Escort.objects.filter(kind=EscortKind.EMERGENCY, scheduled_at__lt=start).exists():
        return
    residents = {
        c.pk: list(Resident.objects.filter(compound=c, left_on__isnull=True).order_by("pk")[:40])
        for c in sealed
    }
    cars = {c.pk: list(Ambulance.objects.filter(compound=c).order_by("plate")) for c in sealed}
    for days_ago in range(10, 0, -1):
        day = today - datetime.timedelta(days=days_ago)
        for _n in range(rng.randint(1, 3)):
            compound = rng.choice(sealed)
            if not residents[compound.pk] or not cars[compound.pk]:
                continue
            at = aware(day, datetime.time(rng.randint(0, 20), rng.randint(0, 59)))
            final = EscortStatus.ADMITTED if rng.random() < 0.3 else EscortStatus.RETURNED
            path = [
                EscortStatus.REQUESTED,
                EscortStatus.SCHEDULED,
                EscortStatus.DISPATCHED,
                EscortStatus.AT_HOSPITAL,
                final,
            ]
            minutes = [0, 1, 2, 25, 150]
            steps = [
                {
                    "status": status,
                    "at": (at + datetime.timedelta(minutes=m)).isoformat(),
                    "by": admin.pk,
                    "by_name": "陈静",
                }
                for status, m in zip(path, minutes, strict=True)
            ]
            resident = rng.choice(residents[compound.pk])
            Escort.objects.create(
                compound=compound,
                resident=resident,
                kind=EscortKind.EMERGENCY,
                pickup=services.pickup_of(resident),
                hospital=hospital,
                scheduled_at=at,
                expected_return_at=at + datetime.timedelta(hours=2),
                ambulance=rng.choice(cars[compound.pk]),
                status=final,
                steps=steps,
                symptom=rng.choice(SYMPTOMS),
                outcome="收治入院" if final == EscortStatus.ADMITTED else "处置后返回",
                dispatched_at=at + datetime.timedelta(minutes=2),
                closed_at=at + datetime.timedelta(minutes=150),
                created_by=admin,
            )
