"""Writes in screening: rounds, tubes and scans, exemptions, result sheets, what a positive
result sets off, cases, contacts, health reports and release. The acting user is `by=`."""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from compounds.models import SEVERITY, Compound, ControlStatus, District
from compounds.services import NewCase, compound_change_status, compound_record_positive
from residents.models import Resident
from wuyi.lib.errors import Refused

from . import notify, rules
from .models import (
    Exemption,
    ExemptReason,
    HealthReport,
    PersonKind,
    Place,
    Quarantine,
    Result,
    ResultImport,
    Retest,
    RetestStatus,
    RoundStatus,
    Sample,
    SamplingSlot,
    TemporaryControl,
    TestingRound,
    Tube,
    TubeKind,
    TubeStatus,
)

MSG_ROUND_CLOSED = gettext_lazy("Round %(number)d is finished: nothing more is sampled in it.")
MSG_TUBE_FULL = gettext_lazy("Tube %(barcode)s is full (%(capacity)d people): open a new tube.")
MSG_TUBE_CLOSED = gettext_lazy("Tube %(barcode)s is closed: open a new tube.")
MSG_TWICE = gettext_lazy("%(name)s is already in tube %(barcode)s of this round.")
MSG_OTHER_COMPOUND = gettext_lazy(
    "%(name)s lives in another compound: only this compound's residents go in this tube."
)
MSG_BARCODE = gettext_lazy("Scan or type the tube's barcode (letters and digits, 4 to 40).")
MSG_BARCODE_ELSEWHERE = gettext_lazy(
    "Tube %(barcode)s was opened for another compound in this round."
)
MSG_NOT_RESIDENT = gettext_lazy("This person is not on the register (or has left it).")
MSG_RELEASED = gettext_lazy("%(name)s was released on %(date)s: no more health reports.")


def _round_for(user: User, round_id: int) -> TestingRound:
    return TestingRound.objects.visible_to(user).get(pk=round_id)


# ----------------------------------------------------------------------------- rounds


def round_open(
    *,
    district_id: int,
    number: int,
    starts_on: datetime.date,
    ends_on: datetime.date,
    subdistrict_ids: Sequence[int] = (),
    by: User,
) -> TestingRound:
    """Open round `number` for the district (or some of its sub-districts). Opening the same
    round twice returns the first when the dates agree."""
    if not rules.may_organise(by):
        raise PermissionDenied(_("Only district and sub-district staff open a testing round."))
    district = District.objects.visible_to(by).get(pk=district_id)
    if number < 1 or number > 999:
        raise Refused(_("A round number is between 1 and 999."), field="number")
    if ends_on < starts_on:
        raise Refused(_("The round ends before it starts."), field="ends_on")
    if (ends_on - starts_on).days >= rules.MAX_ROUND_DAYS:
        raise Refused(
            _("A round lasts at most %(days)d days.") % {"days": rules.MAX_ROUND_DAYS},
            field="ends_on",
        )
    chosen = list(district.subdistricts.filter(pk__in=subdistrict_ids))
    if len(chosen) != len(set(subdistrict_ids)):
        raise Refused(_("Choose sub-districts of this district."), field="subdistricts")
    with transaction.atomic():
        found = TestingRound.objects.filter(district=district, number=number).first()
        if found is not None:
            if (found.starts_on, found.ends_on) == (starts_on, ends_on):
                return found
            raise Refused(
                _("Round %(number)d of this district already exists.") % {"number": number},
                field="number",
            )
        if TestingRound.objects.filter(district=district, status=RoundStatus.OPEN).exists():
            raise Refused(_("Finish the round in progress before opening another."), field="number")
        testing_round = TestingRound.objects.create(
            district=district, number=number, starts_on=starts_on, ends_on=ends_on, created_by=by
        )
        testing_round.subdistricts.set(chosen)
    return testing_round


def round_close(*, round_id: int, by: User) -> TestingRound:
    with transaction.atomic():
        testing_round = TestingRound.objects.visible_to(by).select_for_update().get(pk=round_id)
        rules.ROUND.check(testing_round.status, RoundStatus.CLOSED, by=by)
        testing_round.status = RoundStatus.CLOSED
        testing_round.save(update_fields=["status"])
        Tube.objects.filter(round=testing_round, status=TubeStatus.OPEN).update(
            status=TubeStatus.CLOSED
        )
    return testing_round


def round_compounds(testing_round: TestingRound):
    """The compounds a round covers: its district, or the sub-districts it names."""
    compounds = Compound.objects.filter(district_id=testing_round.district_id)
    chosen = list(testing_round.subdistricts.values_list("pk", flat=True))
    if chosen:
        compounds = compounds.filter(subdistrict_id__in=chosen)
    return compounds


# ----------------------------------------------------------------------------- tubes, scans


def _clean_barcode(barcode: Any) -> str:
    text = str(barcode or "").strip().upper()
    if not (4 <= len(text) <= 40) or not text.replace("-", "").isalnum() or not text.isascii():
        raise Refused(MSG_BARCODE, field="barcode")
    return text


def tube_open(
    *, round_id: int, compound_id: int, barcode: Any, kind: str = TubeKind.POOL10, by: User
) -> Tube:
    """Start filling a tube (its barcode scanned or typed). Scanning the same barcode again
    returns the same tube."""
    if not rules.may_sample(by):
        raise PermissionDenied(_("Your role does not take samples."))
    testing_round = _round_for(by, round_id)
    compound = Compound.objects.visible_to(by).get(pk=compound_id)
    if not round_compounds(testing_round).filter(pk=compound.pk).exists():
        raise Refused(_("This compound is not in this round."), field="compound")
    if testing_round.status != RoundStatus.OPEN:
        raise Refused(MSG_ROUND_CLOSED % {"number": testing_round.number})
    if kind not in TubeKind.values:
        raise Refused(_("Choose 10 to a tube, 20 to a tube or a single tube."), field="kind")
    code = _clean_barcode(barcode)
    try:
        with transaction.atomic():
            tube, _created = Tube.objects.get_or_create(
                round=testing_round,
                barcode=code,
                defaults={"compound": compound, "kind": kind, "opened_by": by},
            )
    except IntegrityError:
        tube = Tube.objects.get(round=testing_round, barcode=code)
    if tube.compound_id != compound.pk:
        raise Refused(MSG_BARCODE_ELSEWHERE % {"barcode": code}, field="barcode")
    return tube


def _resident_for(by: User, *, resident_id: int | None, code: str | None) -> Resident:
    if code:
        resident_id = rules.resident_from_code(code)
    if resident_id is None:
        raise Refused(_("Scan the resident's code or pick the door."), field="code")
    resident = Resident.objects.current().select_related("household").filter(pk=resident_id).first()
    if resident is None:
        raise Refused(MSG_NOT_RESIDENT, field="code")
    return resident


def sample_add(
    *,
    tube_id: int,
    key: str,
    resident_id: int | None = None,
    code: str | None = None,
    by: User,
) -> Sample:
    """Put one person in a tube. `key` is the scan's idempotency key: the same scan sent twice
    returns the first sample. A full tube closes itself.

    The tube's row is locked from the check to the insert, so two samplers scanning into the
    same tube at once are counted one after the other and the 11th is refused; the unique
    (round, resident, retest) constraint catches a person scanned into two tubes at once."""
    if not rules.may_sample(by):
        raise PermissionDenied(_("Your role does not take samples."))
    key = str(key or "").strip()
    if not (8 <= len(key) <= 64):
        raise Refused(_("The scan has no key; reload the page and scan again."), field="key")
    found = Sample.objects.filter(key=key).select_related("tube").first()
    if found is not None:
        if found.tube_id != tube_id:
            raise Refused(_("This scan key was used for another tube."), field="key")
        return found
    resident = _resident_for(by, resident_id=resident_id, code=code)
    try:
        with transaction.atomic():
            tube = (
                Tube.objects.visible_to(by)
                .select_for_update()
                .select_related("round")
                .get(pk=tube_id)
            )
            found = Sample.objects.filter(key=key).first()
            if found is not None:
                return found
            retest = _check_tube_takes(tube, resident)
            return _record_sample(tube, resident, retest, key=key, by=by)
    except IntegrityError:
        found = Sample.objects.filter(key=key).first()
        if found is not None:
            return found
        raise Refused(MSG_TWICE % {"name": resident.name, "barcode": "?"}, field="code") from None


def _check_tube_takes(tube: Tube, resident: Resident) -> Retest | None:
    """Refuse unless the locked tube may take the resident: an open round and tube of their
    compound, with room left, and no sample of theirs yet. Returns the retest (locked) the
    sample answers, for a retest tube."""
    if tube.round.status != RoundStatus.OPEN:
        raise Refused(MSG_ROUND_CLOSED % {"number": tube.round.number})
    if resident.compound_id != tube.compound_id:
        raise Refused(MSG_OTHER_COMPOUND % {"name": resident.name}, field="code")
    if tube.status != TubeStatus.OPEN:
        raise Refused(MSG_TUBE_CLOSED % {"barcode": tube.barcode}, field="code")
    if tube.size >= tube.capacity:
        raise Refused(
            MSG_TUBE_FULL % {"barcode": tube.barcode, "capacity": tube.capacity},
            field="code",
        )
    retest = None
    if tube.retest:
        retest = (
            Retest.objects.select_for_update().filter(round=tube.round, resident=resident).first()
        )
        if retest is None:
            raise Refused(
                _("%(name)s owes no single-tube retest in this round.") % {"name": resident.name},
                field="code",
            )
    earlier = (
        Sample.objects.filter(round=tube.round, resident=resident, retest=tube.retest)
        .select_related("tube")
        .first()
    )
    if earlier is not None:
        raise Refused(
            MSG_TWICE % {"name": resident.name, "barcode": earlier.tube.barcode},
            field="code",
        )
    return retest


def _record_sample(
    tube: Tube, resident: Resident, retest: Retest | None, *, key: str, by: User
) -> Sample:
    """Insert the sample, count it in the tube (closing a full one) and mark the retest
    sampled."""
    sample = Sample.objects.create(
        tube=tube,
        round=tube.round,
        compound_id=tube.compound_id,
        resident=resident,
        household_id=resident.household_id,
        retest=tube.retest,
        key=key,
        taken_by=by,
    )
    tube.size += 1
    fields = ["size"]
    if tube.size >= tube.capacity:
        tube.status = TubeStatus.CLOSED
        fields.append("status")
    tube.save(update_fields=fields)
    if retest is not None:
        rules.RETEST.check(retest.status, RetestStatus.SAMPLED, by=by)
        retest.status = RetestStatus.SAMPLED
        retest.tube = tube
        retest.save(update_fields=["status", "tube"])
    return sample


def tube_close(*, tube_id: int, by: User) -> Tube:
    if not rules.may_sample(by):
        raise PermissionDenied(_("Your role does not take samples."))
    with transaction.atomic():
        tube = Tube.objects.visible_to(by).select_for_update().get(pk=tube_id)
        if tube.status == TubeStatus.OPEN:
            if tube.size == 0:
                raise Refused(_("An empty tube is not closed: scan someone in first."))
            tube.status = TubeStatus.CLOSED
            tube.save(update_fields=["status"])
    return tube


def exemption_set(*, round_id: int, resident_id: int, reason: str, by: User) -> Exemption:
    if not rules.may_keep(by):
        raise PermissionDenied(_("Only the secretary and staff record exemptions."))
    if reason not in ExemptReason.values:
        raise Refused(_("Choose the reason for the exemption."), field="reason")
    testing_round = _round_for(by, round_id)
    resident = Resident.objects.visible_to(by).current().get(pk=resident_id)
    exemption, _created = Exemption.objects.update_or_create(
        round=testing_round,
        resident=resident,
        defaults={"reason": reason, "by": by, "compound_id": resident.compound_id},
    )
    return exemption


# ----------------------------------------------------------------------------- slots

MAX_SLOT_HOURS = 12
MSG_SLOT_ORDER = gettext_lazy("The slot ends before it starts.")
MSG_SLOT_ROUND = gettext_lazy("A slot lies within the round's days (%(start)s to %(end)s).")
MSG_SLOT_PLACE = gettext_lazy("Name the sampling point (at most 60 characters).")
MSG_SLOT_HOURS = gettext_lazy("A slot lasts at most %(hours)d hours.")
MSG_SLOT_BUILDINGS = gettext_lazy("Choose buildings of this compound.")
MSG_NOT_IN_ROUND = gettext_lazy("This compound is not in this round.")


def slot_add(
    *,
    round_id: int,
    compound_id: int,
    place: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    building_ids: Sequence[int] = (),
    by: User,
) -> SamplingSlot:
    """A sampling point and its time slot in a compound of a round in progress, for some of
    its buildings (none: all). The same slot given twice is written once."""
    if not rules.may_keep(by):
        raise PermissionDenied(_("Only the secretary and staff set sampling points."))
    testing_round = _round_for(by, round_id)
    compound = Compound.objects.visible_to(by).get(pk=compound_id)
    if not round_compounds(testing_round).filter(pk=compound.pk).exists():
        raise Refused(MSG_NOT_IN_ROUND, field="compound")
    if testing_round.status != RoundStatus.OPEN:
        raise Refused(MSG_ROUND_CLOSED % {"number": testing_round.number})
    place = " ".join(str(place or "").split())
    if not (1 <= len(place) <= 60) or not place.isprintable():
        raise Refused(MSG_SLOT_PLACE, field="place")
    if ends_at <= starts_at:
        raise Refused(MSG_SLOT_ORDER, field="ends_at")
    if ends_at - starts_at > datetime.timedelta(hours=MAX_SLOT_HOURS):
        raise Refused(MSG_SLOT_HOURS % {"hours": MAX_SLOT_HOURS}, field="ends_at")
    first, last = timezone.localdate(starts_at), timezone.localdate(ends_at)
    if first < testing_round.starts_on or last > testing_round.ends_on:
        values = {"start": testing_round.starts_on, "end": testing_round.ends_on}
        raise Refused(MSG_SLOT_ROUND % values, field="starts_at")
    buildings = list(compound.buildings.filter(pk__in=building_ids))
    if len(buildings) != len(set(building_ids)):
        raise Refused(MSG_SLOT_BUILDINGS, field="buildings")
    with transaction.atomic():
        found = SamplingSlot.objects.filter(
            round=testing_round, compound=compound, place=place, starts_at=starts_at
        ).first()
        if found is not None and found.ends_at == ends_at:
            return found
        slot = SamplingSlot.objects.create(
            round=testing_round,
            compound=compound,
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=by,
        )
        slot.buildings.set(buildings)
    return slot


def slot_remove(*, slot_id: int, by: User) -> None:
    if not rules.may_keep(by):
        raise PermissionDenied(_("Only the secretary and staff set sampling points."))
    SamplingSlot.objects.visible_to(by).filter(pk=slot_id).delete()


# ----------------------------------------------------------------------------- results


def results_commit(*, round_id: int, plan: Any, file_name: str, by: User) -> ResultImport:
    """Write a checked result sheet (importing.ResultPlan) all or nothing: each tube's result,
    then what each positive sets off. A tube already carrying the same result is left as it is,
    so a re-import changes nothing. Cases are recorded in the same transaction; their SMS are
    queued on commit."""
    if not rules.may_organise(by):
        raise PermissionDenied(_("Only district and sub-district staff import results."))
    if plan.errors:
        raise Refused(plan.errors[0].message, row=plan.errors[0].row)
    now = timezone.now()
    with transaction.atomic():
        testing_round = TestingRound.objects.visible_to(by).select_for_update().get(pk=round_id)
        by_result: dict[str, list[int]] = defaultdict(list)
        for tube_id, result in plan.changes.items():
            by_result[result].append(tube_id)
        for result, ids in by_result.items():
            for start in range(0, len(ids), 10_000):
                Tube.objects.filter(pk__in=ids[start : start + 10_000]).update(
                    result=result, status=TubeStatus.RESULTED, resulted_at=now
                )
        positives = by_result.get(Result.POSITIVE, [])
        pools = 0
        cases: list[Quarantine] = []
        for tube in Tube.objects.filter(pk__in=positives).select_related("compound"):
            if tube.kind == TubeKind.SINGLE:
                for sample in Sample.objects.filter(tube=tube).select_related("resident"):
                    cases.append(
                        case_record(
                            resident_id=sample.resident_id,
                            found_on=timezone.localdate(),
                            tube_id=tube.pk,
                            by=by,
                        )
                    )
            else:
                pools += 1
                _pool_positive(tube)
        _retests_settle(by_result.get(Result.NEGATIVE, []))
        record = ResultImport.objects.create(
            round=testing_round,
            file_name=file_name[:200],
            rows=plan.rows,
            matched=plan.matched,
            positive_pools=pools,
            cases=len(cases),
            unmatched=plan.rows - plan.matched,
            by=by,
        )
    return record


def _pool_positive(tube: Tube) -> None:
    """A positive pool: its households under temporary control, a retest for each person."""
    samples = list(Sample.objects.filter(tube=tube))
    TemporaryControl.objects.bulk_create(
        [
            TemporaryControl(compound_id=tube.compound_id, household_id=h, pool=tube)
            for h in sorted({s.household_id for s in samples})
        ],
        ignore_conflicts=True,
    )
    Retest.objects.bulk_create(
        [
            Retest(
                round_id=tube.round_id,
                compound_id=tube.compound_id,
                resident_id=s.resident_id,
                household_id=s.household_id,
                pool=tube,
            )
            for s in samples
        ],
        ignore_conflicts=True,
    )


def _retests_settle(negative_tube_ids: Sequence[int]) -> None:
    """Negative single tubes settle their retests; a household whose retests are all negative
    leaves temporary control."""
    retests = list(
        Retest.objects.filter(tube_id__in=negative_tube_ids, status=RetestStatus.SAMPLED)
    )
    if not retests:
        return
    for r in retests:
        rules.RETEST.check(r.status, RetestStatus.NEGATIVE)
    Retest.objects.filter(pk__in=[r.pk for r in retests]).update(status=RetestStatus.NEGATIVE)
    for pool_id, household_id in {(r.pool_id, r.household_id) for r in retests}:
        open_ones = Retest.objects.filter(pool_id=pool_id, household_id=household_id).exclude(
            status=RetestStatus.NEGATIVE
        )
        if not open_ones.exists():
            TemporaryControl.objects.filter(
                pool_id=pool_id, household_id=household_id, lifted_at__isnull=True
            ).update(lifted_at=timezone.now())


# ----------------------------------------------------------------------------- cases


def case_record(
    *,
    resident_id: int,
    found_on: datetime.date,
    by: User,
    tube_id: int | None = None,
    place: str = Place.HOSPITAL,
    days: int = 14,
) -> Quarantine:
    """The one way a result turns into a case: the positive case recorded on the compound
    through the compounds app (its clock restarts), the compound raised to sealed if it was
    below, the person's open contact record (if any) released in favour of the case, and the
    secretary and district staff alerted on commit."""
    if not rules.may_organise(by):
        raise PermissionDenied(_("Only district and sub-district staff record a case."))
    with transaction.atomic():
        resident = Resident.objects.visible_to(by).select_related("household").get(pk=resident_id)
        found = Quarantine.objects.filter(
            resident=resident, kind=PersonKind.CASE, released_at__isnull=True
        ).first()
        if found is not None:
            return found
        positive = compound_record_positive(
            compound_id=resident.compound_id,
            case=NewCase(found_on=found_on, building_id=resident.household.building_id),
            by=by,
            source="screening",
        )
        compound = Compound.objects.get(pk=resident.compound_id)
        if SEVERITY[compound.status] < SEVERITY[ControlStatus.SEALED]:
            compound_change_status(
                compound_id=compound.pk,
                to_status=ControlStatus.SEALED,
                reason=_("Positive single-tube result on %(date)s")
                % {"date": found_on.isoformat()},
                by=by,
            )
        now = timezone.now()
        Quarantine.objects.filter(resident=resident, released_at__isnull=True).update(
            released_at=now, released_by=by
        )
        Retest.objects.filter(resident=resident, status=RetestStatus.SAMPLED).update(
            status=RetestStatus.POSITIVE
        )
        case = Quarantine.objects.create(
            compound=compound,
            resident=resident,
            kind=PersonKind.CASE,
            place=place,
            starts_on=found_on,
            ends_on=found_on + datetime.timedelta(days=days),
            positive_case=positive,
            tube_id=tube_id,
            created_by=by,
        )
        transaction.on_commit(
            lambda: notify.case_found(case_id=case.pk, compound=compound, found_on=found_on)
        )
    return case


def contact_add(
    *,
    source_id: int,
    resident_id: int,
    kind: str,
    place: str,
    starts_on: datetime.date,
    days: int = 7,
    by: User,
) -> Quarantine:
    """A close contact of a case, or a secondary close contact of a close contact."""
    if not rules.may_keep(by):
        raise PermissionDenied(_("Only the secretary and staff record contacts."))
    source = Quarantine.objects.visible_to(by).get(pk=source_id)
    wanted: dict[str, str] = {
        PersonKind.CLOSE: PersonKind.CASE,
        PersonKind.SECONDARY: PersonKind.CLOSE,
    }
    if kind not in wanted:
        raise Refused(_("Choose close contact or secondary close contact."), field="kind")
    if source.kind != wanted[kind]:
        raise Refused(
            _("A close contact comes from a case, a secondary one from a close contact."),
            field="kind",
        )
    if place not in Place.values:
        raise Refused(_("Choose where the person is kept."), field="place")
    if not (1 <= days <= rules.MAX_QUARANTINE_DAYS):
        raise Refused(
            _("A quarantine lasts 1 to %(max)d days.") % {"max": rules.MAX_QUARANTINE_DAYS},
            field="days",
        )
    today = timezone.localdate()
    if starts_on > today + datetime.timedelta(days=1):
        raise Refused(_("A quarantine starts today or earlier."), field="starts_on")
    resident = Resident.objects.visible_to(by).current().get(pk=resident_id)
    if resident.pk == source.resident_id:
        raise Refused(_("A person is not their own contact."), field="resident")
    with transaction.atomic():
        open_one = (
            Quarantine.objects.select_for_update()
            .filter(resident=resident, released_at__isnull=True)
            .first()
        )
        if open_one is not None:
            if open_one.source_id == source.pk and open_one.kind == kind:
                return open_one
            raise Refused(
                _("%(name)s is already recorded as %(kind)s.")
                % {"name": resident.name, "kind": open_one.get_kind_display()},
                field="resident",
            )
        return Quarantine.objects.create(
            compound_id=resident.compound_id,
            resident=resident,
            kind=kind,
            source=source,
            place=place,
            starts_on=starts_on,
            ends_on=starts_on + datetime.timedelta(days=days),
            created_by=by,
        )


def health_report_add(
    *,
    quarantine_id: int,
    temperature: Any,
    symptoms: str = "",
    day: datetime.date | None = None,
    by: User | None,
) -> HealthReport:
    """Today's health report (one a day: a second one the same day replaces the first).
    `by` is None when the person sends it through their own SMS link."""
    if by is not None and not rules.may_report_health(by):
        raise PermissionDenied(_("Your role does not take health reports."))
    manager = Quarantine.objects if by is None else Quarantine.objects.visible_to(by)
    q = manager.select_related("resident").get(pk=quarantine_id)
    if q.released_at is not None:
        raise Refused(
            MSG_RELEASED
            % {"name": q.resident.name, "date": timezone.localdate(q.released_at).isoformat()}
        )
    try:
        value = Decimal(str(temperature).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise Refused(_("Write the temperature as 36.5."), field="temperature") from None
    low, high = rules.TEMPERATURE_RANGE
    if not (Decimal(str(low)) <= value <= Decimal(str(high))):
        raise Refused(
            _("A body temperature is between %(low)s and %(high)s °C.")
            % {"low": low, "high": high},
            field="temperature",
        )
    symptoms = (symptoms or "").strip()
    if len(symptoms) > 200:
        raise Refused(_("At most 200 characters."), field="symptoms")
    day = day or timezone.localdate()
    if day > timezone.localdate() or day < q.starts_on:
        raise Refused(_("A report is for a day of the quarantine, up to today."), field="day")
    report, _created = HealthReport.objects.update_or_create(
        quarantine=q,
        day=day,
        defaults={
            "temperature": value,
            "symptoms": symptoms,
            "by": by,
            "compound_id": q.compound_id,
            "at": timezone.now(),
        },
    )
    return report


def quarantine_release(*, quarantine_id: int, by: User) -> Quarantine:
    """Release: from now on no reminder, list or count includes the person. Idempotent."""
    if not rules.may_keep(by):
        raise PermissionDenied(_("Only the secretary and staff release a quarantine."))
    with transaction.atomic():
        q = Quarantine.objects.visible_to(by).select_for_update().get(pk=quarantine_id)
        if q.released_at is None:
            q.released_at = timezone.now()
            q.released_by = by
            q.save(update_fields=["released_at", "released_by"])
    return q


# ----------------------------------------------------------------------------- test days


@dataclass(frozen=True)
class Reminders:
    queued: int
    already: int

    def line(self) -> str:
        return f"queued {self.queued} reminders, {self.already} already sent"


def test_day_reminders(*, day: datetime.date | None = None) -> Reminders:
    """Text each person in quarantine (not released) whose test day is `day` (today, Asia/
    Shanghai, unless given): once a day each, whoever runs it and however often (the SMS key
    names the record and the day; the keys already in the outbox are counted, not sent). Two
    queries and one batch of SMS a compound, after no lock is held."""
    from messaging.models import Message

    day = day or timezone.localdate()
    starts = [day - datetime.timedelta(days=n) for n in rules.test_day_offsets()]
    due = list(
        Quarantine.objects.filter(released_at__isnull=True, starts_on__in=starts, ends_on__gte=day)
        .exclude(resident__phone="")
        .select_related("resident", "compound")
        .order_by("compound_id", "pk")
    )
    keys = {q.pk: notify.test_day_key(q.pk, day) for q in due}
    sent = set(
        Message.objects.filter(idempotency_key__in=keys.values()).values_list(
            "idempotency_key", flat=True
        )
    )
    people = [
        (q.pk, q.resident.name, q.resident.phone, q.compound) for q in due if keys[q.pk] not in sent
    ]
    queued = notify.test_day_due(people, day) if people else 0
    return Reminders(queued=queued, already=len(due) - len(people))
