"""Personal data on the register, each use recorded: a full view, a call (from the register
or a task card), an export (the list's, masked or full, and the admin's). Every line of the
personal-data log (PersonalDataAccess) is written here. Re-exported by residents.services."""

from collections.abc import Sequence
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import scope_of
from accounts.models import Level, User
from compounds.selectors import common_place
from wuyi.lib import spreadsheets
from wuyi.lib.errors import Refused

from . import registry, rules
from .models import PersonalDataAccess, Resident

# ----------------------------------------------------------------------------- personal data


def _record_access(
    *,
    by: User,
    kind: str,
    places: Sequence[tuple[str, int]],
    resident: Resident | None = None,
    detail: dict | None = None,
    row_count: int = 0,
) -> PersonalDataAccess:
    """One line of the personal-data log, naming the narrowest place that holds `places`."""
    place = common_place(places)
    return PersonalDataAccess.objects.create(
        user=by,
        kind=kind,
        district_id=place.get(Level.DISTRICT),
        subdistrict_id=place.get(Level.SUBDISTRICT),
        community_id=place.get(Level.COMMUNITY),
        resident=resident,
        detail=detail or {},
        row_count=row_count,
    )


def record_admin_export(*, by: User, row_count: int) -> None:
    """The admin's export (administrators only), recorded like the list's."""
    _record_access(
        by=by,
        kind=PersonalDataAccess.Kind.EXPORT,
        places=[(level, pk) for level, ids in scope_of(by).places for pk in ids],
        detail={"via": "admin"},
        row_count=row_count,
    )


def resident_call(*, by: User, resident: Resident) -> str:
    """The full phone number for one call, for those who serve the household; recorded."""
    if not rules.may_call_resident(by, resident):
        raise PermissionDenied(_("Your role may not call residents."))
    if not resident.phone:
        raise Refused(_("No phone number is registered for this resident."))
    _record_access(
        by=by,
        kind=PersonalDataAccess.Kind.CALL,
        places=[(Level.COMPOUND, resident.compound_id)],
        resident=resident,
        detail={"fields": ["phone"]},
    )
    return resident.phone


def task_call_record(
    *, by: User, compound_id: int, phone: str, via: str, resident: Resident | None = None
) -> str:
    """A call placed from a task card (a delivery, an escort): recorded in the personal-data
    log as a call from the register is, naming the task (`via`, e.g. "supplies.order:12").
    The task's own service decides who may call (the volunteer carrying the order, the crew of
    the escort); this only records it. Returns the number, for the tel: link."""
    if not phone:
        raise Refused(_("No phone number is registered for this resident."))
    if resident is None:
        resident = (
            Resident.objects.filter(compound_id=compound_id, phone=phone, left_on__isnull=True)
            .order_by("pk")
            .first()
        )
    _record_access(
        by=by,
        kind=PersonalDataAccess.Kind.CALL,
        places=[(Level.COMPOUND, compound_id)],
        resident=resident,
        detail={"fields": ["phone"], "via": via},
    )
    return phone


def resident_reveal(*, by: User, resident: Resident) -> dict[str, str]:
    """The full ID number and phone, for a role that may see them; recorded."""
    if not rules.may_see_full_personal_data(by):
        raise PermissionDenied(_("Your role may not see full ID numbers and phones."))
    _record_access(
        by=by,
        kind=PersonalDataAccess.Kind.VIEW,
        places=[(Level.COMPOUND, resident.compound_id)],
        resident=resident,
        detail={"fields": ["national_id", "phone", "birth_date"]},
    )
    return {"national_id": resident.national_id, "phone": resident.phone}


# ----------------------------------------------------------------------------- export


def export_columns() -> list[str]:
    return [
        _("Compound"),
        _("Address"),
        _("Name"),
        _("Gender"),
        _("Age"),
        _("ID number"),
        _("Phone"),
        _("Relation to the household head"),
        _("Vulnerable categories"),
        _("Quarantine"),
        _("Notes"),
    ]


def _export_row(resident: Resident, full: bool, marks: list[registry.ResidentMark]) -> list:
    return [
        resident.compound.name,
        resident.household.address,
        resident.name,
        resident.get_gender_display(),
        resident.age,
        resident.national_id if full else resident.masked_national_id,
        resident.phone if full else resident.masked_phone,
        resident.relation,
        "、".join(str(tag.get_category_display()) for tag in resident.tags.all()),
        "、".join(str(m.label) for m in marks if m.kind == "quarantine" and not m.ended),
        resident.notes,
    ]


def residents_export_xlsx(
    *,
    by: User,
    residents: QuerySet[Resident],
    full: bool,
    filters: dict,
    fh: IO[bytes],
    compound_id: int | None = None,
    purpose: str = "",
) -> int:
    """Write the residents to an xlsx in `fh`, masked unless `full` (which needs the role),
    and record who exported what, for which place. Rows stream from the database to the
    workbook in chunks: memory stays flat whatever the count."""
    if full and not rules.may_see_full_personal_data(by):
        raise PermissionDenied(_("Your role may not export full ID numbers and phones."))
    if full and not purpose:
        raise Refused(_("Say why the full numbers are needed."), field="purpose")

    today = timezone.localdate()

    def chunks():
        chunk: list[Resident] = []
        for resident in residents.iterator(chunk_size=2000):
            chunk.append(resident)
            if len(chunk) == 2000:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def rows():
        for chunk in chunks():
            # Quarantine and temporary control are screening's: one call a chunk.
            marks = registry.marks_on([r.pk for r in chunk], today)
            for resident in chunk:
                yield _export_row(resident, full, marks.get(resident.pk, []))

    count = spreadsheets.write_xlsx(fh, title=_("Residents"), header=export_columns(), rows=rows())
    places = (
        [(Level.COMPOUND, compound_id)]
        if compound_id
        else [(level, pk) for level, ids in scope_of(by).places for pk in ids]
    )
    _record_access(
        by=by,
        kind=PersonalDataAccess.Kind.EXPORT_FULL if full else PersonalDataAccess.Kind.EXPORT,
        places=places,
        detail={"filters": filters, **({"purpose": purpose} if purpose else {})},
        row_count=count,
    )
    return count
