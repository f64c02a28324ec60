"""Demo testing: in every district five finished rounds, all negative (as in the article), and
round 6 in progress with about half of each compound sampled; in the first district one positive
pool with its single-tube retests pending, and one case with two close contacts in home
quarantine. Idempotent: a district that has round 1 is left as it is."""

import datetime

from django.utils import timezone

from accounts.models import Role, User
from compounds.models import District, Posting
from messaging.models import SmsTemplate
from residents.models import Resident

from . import notify, services
from .importing import ResultPlan
from .models import (
    PersonKind,
    Place,
    Result,
    RoundStatus,
    Sample,
    TestingRound,
    Tube,
    TubeKind,
    TubeStatus,
)


def _staff(district: District) -> User | None:
    posting = (
        Posting.objects.filter(district=district, user__role=Role.DISTRICT_STAFF)
        .select_related("user")
        .first()
    )
    if posting is not None:
        return posting.user
    return User.objects.filter(is_superuser=True).order_by("pk").first()


def _round(district, number, first, status, by, residents, share=1.0) -> TestingRound:
    """A round with pooled tubes (10 to a tube) holding `share` of each compound's residents."""
    testing_round = TestingRound.objects.create(
        district=district,
        number=number,
        starts_on=first,
        ends_on=first + datetime.timedelta(days=1),
        status=status,
        created_by=by,
    )
    by_compound: dict[int, list[Resident]] = {}
    for r in residents:
        by_compound.setdefault(r.compound_id, []).append(r)
    done = status == RoundStatus.CLOSED
    samples = []
    for compound_id, people in by_compound.items():
        people = people[: round(len(people) * share)]
        for start in range(0, len(people), 10):
            group = people[start : start + 10]
            tube = Tube.objects.create(
                round=testing_round,
                compound_id=compound_id,
                barcode=f"D{district.pk:02d}R{number}C{compound_id:04d}T{start // 10:03d}",
                kind=TubeKind.POOL10,
                size=len(group),
                status=TubeStatus.RESULTED if done else TubeStatus.CLOSED,
                result=Result.NEGATIVE if done else "",
                resulted_at=timezone.now() if done else None,
                opened_by=by,
            )
            samples += [
                Sample(
                    tube=tube,
                    round=testing_round,
                    compound_id=compound_id,
                    resident=r,
                    household_id=r.household_id,
                    key=f"demo-{testing_round.pk}-{r.pk}",
                    taken_by=by,
                )
                for r in group
            ]
    Sample.objects.bulk_create(samples, batch_size=2000)
    return testing_round


def seed_screening() -> int:
    """Returns the number of rounds created."""
    today = timezone.localdate()
    created = 0
    SmsTemplate.objects.filter(name=notify.TEST_DAY, approved=False).update(
        code="SMS_270150301", approved=True
    )
    SmsTemplate.objects.filter(name=notify.CASE_ALERT, approved=False).update(
        code="SMS_270150300", approved=True
    )
    for index, district in enumerate(District.objects.order_by("code")):
        if TestingRound.objects.filter(district=district, number=1).exists():
            continue
        by = _staff(district)
        if by is None:
            continue
        residents = list(
            Resident.objects.current()
            .filter(compound__district=district)
            .order_by("compound_id", "household_id", "pk")
        )
        if not residents:
            continue
        for number in range(1, 6):
            first = today - datetime.timedelta(days=3 * (6 - number))
            _round(district, number, first, RoundStatus.CLOSED, by, residents)
        sixth = _round(district, 6, today, RoundStatus.OPEN, by, residents, share=0.5)
        created += 6
        _slots(sixth, by, today)
        if index != 0:
            continue
        # One positive pool, its retests pending; a case elsewhere with two close contacts.
        pool = Tube.objects.filter(round=sixth).order_by("pk").first()
        if pool is None:
            continue
        plan = ResultPlan(rows=1, matched=1, changes={pool.pk: Result.POSITIVE}, positive_pools=1)
        services.results_commit(round_id=sixth.pk, plan=plan, file_name="demo.csv", by=by)
        pooled = set(Sample.objects.filter(tube=pool).values_list("resident_id", flat=True))
        others = [r for r in residents if r.pk not in pooled and r.compound_id != pool.compound_id]
        if len(others) < 3:
            continue
        case = services.case_record(resident_id=others[0].pk, found_on=today, by=by)
        mates = [r for r in others[1:] if r.compound_id == others[0].compound_id][:2]
        for mate in mates:
            services.contact_add(
                source_id=case.pk,
                resident_id=mate.pk,
                kind=PersonKind.CLOSE,
                place=Place.HOME,
                starts_on=today,
                by=by,
            )
    return created


def _slots(testing_round: TestingRound, by, day: datetime.date) -> None:
    """Each compound of round 6: its east gate for odd buildings 08:00–10:00, the west gate
    for the others 10:00–12:00 (residents come down by building)."""
    from compounds.models import Compound
    from wuyi.lib.localday import aware

    for compound in Compound.objects.filter(district_id=testing_round.district_id):
        buildings = list(compound.buildings.order_by("pk"))
        for place, start, chosen in (
            ("东门广场", 8, buildings[0::2]),
            ("西门停车场", 10, buildings[1::2]),
        ):
            if not chosen:
                continue
            services.slot_add(
                round_id=testing_round.pk,
                compound_id=compound.pk,
                place=place,
                starts_at=aware(day, datetime.time(start)),
                ends_at=aware(day, datetime.time(start + 2)),
                building_ids=[b.pk for b in chosen],
                by=by,
            )
