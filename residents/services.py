"""Writes on the resident register: imports, full views and exports (each recorded)."""

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import may_edit_register
from accounts.models import User
from compounds.models import Community, Compound

from . import importing, normalize, pgcopy, pii
from .models import Household, ImportJob, PersonalDataAccess, Resident, VulnerableTag

log = logging.getLogger(__name__)
BATCH = 2000


class ImportRefused(Exception):
    """The import was not written. `report` lists the reasons (row, column, message)."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.report = report or {}


def _read_and_parse(path: Path, progress: Callable[[int], None] | None):
    rows, _kind = importing.read_rows(path)
    header_index, columns, labels = importing.find_header(rows)
    parsed, errors, total = importing.parse_rows(
        rows, header_index, columns, labels, progress=progress
    )
    return parsed, errors, total


def resident_import(
    *,
    path: str | Path,
    community: Community,
    compound: Compound | None,
    user: User | None,
    dry_run: bool,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Check, and unless dry_run write, one resident list for one community.

    All or nothing: with any bad row and skip_bad_rows False nothing is written and
    ImportRefused carries the report. Re-importing the same file changes nothing: residents are
    matched on the ID number's hash, or on household and name when they have none, and empty
    cells never erase registered values.

    Raises importing.ImportFileError when the file itself cannot be read.
    """
    parsed, errors, total = _read_and_parse(Path(path), progress)
    if dry_run:
        plan = importing.plan_import(
            rows=parsed,
            errors=errors,
            total_rows=total,
            community_id=community.pk,
            compound=compound,
        )
        return {**plan.report(), "committed": False}

    try:
        with transaction.atomic():
            # One import per community at a time: the lock makes the plan, made inside the
            # transaction, still true when it is written.
            Community.objects.select_for_update().get(pk=community.pk)
            plan = importing.plan_import(
                rows=parsed,
                errors=errors,
                total_rows=total,
                community_id=community.pk,
                compound=compound,
            )
            report = plan.report()
            if plan.errors and not skip_bad_rows:
                raise ImportRefused(
                    _("The list has %(n)d bad rows; nothing was imported.") % {"n": plan.bad_rows},
                    report,
                )
            _write_plan(plan, community=community, user=user, progress=progress, total=total)
    except IntegrityError as exc:
        log.warning("resident import hit a constraint: %s", type(exc).__name__)
        raise ImportRefused(
            _("The register changed while importing; nothing was imported. Try again.")
        ) from exc
    return {**report, "committed": True}


def _write_plan(
    plan: importing.Plan,
    *,
    community: Community,
    user: User | None,
    progress: Callable[[int], None] | None,
    total: int,
) -> None:
    """Write the plan: new households, new residents, updates, new ledger lines, and a history
    row for each, all at the time `now`. On PostgreSQL the creates go through COPY and the
    updates through one UPDATE ... FROM VALUES per chunk (residents/pgcopy.py); elsewhere
    through bulk_create and bulk_update. Both write the same rows."""
    now = timezone.now()
    reason = _("Imported from a resident list")
    fast = pgcopy.available()

    if fast:
        households, household_compound, created_by_row = _copy_creates(
            plan, community=community, user=user, reason=reason, now=now, progress=progress
        )
    else:
        households, household_compound = _create_households(plan, user=user, reason=reason, now=now)
        _create_residents(
            plan,
            households,
            household_compound,
            community=community,
            user=user,
            reason=reason,
            now=now,
            progress=progress,
        )
        created_by_row = None

    _apply_updates(plan, households, household_compound, user=user, reason=reason, now=now)

    if created_by_row is None and any(rid is None for rid, _item in plan.new_tags):
        created_by_row = _created_ids_by_row(plan, community)
    existing_tags = set()
    for chunk in importing._chunks([rid for rid, _i in plan.new_tags if rid is not None]):
        existing_tags.update(
            VulnerableTag.objects.filter(resident_id__in=chunk).values_list(
                "resident_id", "category"
            )
        )
    tags: list[tuple[int, str, str]] = []
    for resident_id, item in plan.new_tags:
        rid = resident_id if resident_id is not None else created_by_row[item.row]
        for category in item.categories:
            if (rid, category) in existing_tags:
                continue
            treatment = item.treatment if category == "chronic" else ""
            tags.append((rid, category, treatment))
    if not tags:
        return
    if fast:
        writer = pgcopy.CopyWriter(
            VulnerableTag,
            ("id", "resident_id", "category", "treatment"),
            constants={"created_at": now},
        )
        tag_ids = pgcopy.reserve_ids(VulnerableTag, len(tags))
        with pgcopy.Pipeline(user=user, reason=reason, date=now) as pipe:
            for start in range(0, len(tags), pgcopy.CHUNK):
                ids = tag_ids[start : start + pgcopy.CHUNK]
                chunk = tags[start : start + pgcopy.CHUNK]
                pipe.insert(writer, ids, [(tid, *tag) for tid, tag in zip(ids, chunk, strict=True)])
    else:
        objs = [
            VulnerableTag(resident_id=rid, category=category, treatment=treatment, created_at=now)
            for rid, category, treatment in tags
        ]
        if objs:
            _bulk_create_with_history(objs, user=user, reason=reason, now=now)


def _household_compounds(
    plan: importing.Plan, households: dict, known: dict[int, int]
) -> dict[int, int]:
    """Household id → compound id for the households that residents are written into."""
    result = dict(known)
    keys = {key for _item, key in plan.creates} | {key for _r, _i, key in plan.updates}
    missing = {households[key] for key in keys} - result.keys()
    for chunk in importing._chunks(sorted(missing)):
        result.update(Household.objects.filter(pk__in=chunk).values_list("id", "compound_id"))
    return result


def _create_households(plan: importing.Plan, *, user, reason, now) -> tuple[dict, dict]:
    new_households = [
        Household(compound_id=compound_id, building_id=building_id, unit=key[1], room=key[2])
        for key, (compound_id, building_id) in plan.new_households.items()
    ]
    if new_households:
        _bulk_create_with_history(new_households, user=user, reason=reason, now=now)
    households = dict(plan.households)
    known = {}
    for h in new_households:
        households[(h.building_id, h.unit, h.room)] = h.pk
        known[h.pk] = h.compound_id
    return households, _household_compounds(plan, households, known)


def _create_residents(
    plan, households, household_compound, *, community, user, reason, now, progress
) -> None:
    done = 0
    created: list[Resident] = []
    for item, key in plan.creates:
        household_id = households[key]
        resident = Resident(
            household_id=household_id,
            compound_id=household_compound[household_id],
            community_id=community.pk,
            name=item.name,
            gender=item.gender or "",
            birth_date=item.birth_date,
            phone=item.phone,
            relation=item.relation,
            notes=item.notes,
            created_at=now,
            updated_at=now,
        )
        if item.national_id:
            resident.set_national_id(item.national_id, id_hash=item.id_hash)
        created.append(resident)
        if len(created) >= BATCH:
            _bulk_create_with_history(created, user=user, reason=reason, now=now)
            done += len(created)
            created = []
            if progress:
                progress(done)
    if created:
        _bulk_create_with_history(created, user=user, reason=reason, now=now)
        done += len(created)
    if progress:
        progress(done)


# The resident columns the import writes; every other field gets its default (pgcopy).
_RESIDENT_COLUMNS = (
    "id",
    "household_id",
    "compound_id",
    "name",
    "gender",
    "birth_date",
    "phone",
    "id_cipher",
    "id_hash",
    "id_last4",
    "relation",
    "notes",
)


def _copy_creates(
    plan: importing.Plan, *, community, user, reason, now, progress
) -> tuple[dict, dict[int, int], dict[int, int]]:
    """COPY the new households and residents with their history (PostgreSQL).

    Returns the households ({(building, unit, room): id}), {household id: compound id} and
    {row number: new resident id} for the rows that bring vulnerable-person categories. The
    ids are reserved first and the reads done before the first COPY, so that the pipeline
    never waits for the database while it prepares a chunk: encrypting the ID numbers of one
    chunk overlaps with PostgreSQL writing the one before.
    """
    new_households = list(plan.new_households.items())
    household_ids = pgcopy.reserve_ids(Household, len(new_households))
    resident_ids = pgcopy.reserve_ids(Resident, len(plan.creates))
    households = dict(plan.households)
    known = {}
    for hid, (key, (compound_id, _building_id)) in zip(household_ids, new_households, strict=True):
        households[key] = hid
        known[hid] = compound_id
    household_compound = _household_compounds(plan, households, known)

    chunk_size = pgcopy.CHUNK
    created_by_row: dict[int, int] = {}
    with pgcopy.Pipeline(user=user, reason=reason, date=now) as pipe:
        writer = pgcopy.CopyWriter(Household, ("id", "compound_id", "building_id", "unit", "room"))
        for start in range(0, len(new_households), chunk_size):
            ids = household_ids[start : start + chunk_size]
            rows = [
                (hid, compound_id, building_id, key[1], key[2])
                for hid, (key, (compound_id, building_id)) in zip(
                    ids, new_households[start : start + chunk_size], strict=True
                )
            ]
            pipe.insert(writer, ids, rows)

        writer = pgcopy.CopyWriter(
            Resident,
            _RESIDENT_COLUMNS,
            constants={"community_id": community.pk, "created_at": now, "updated_at": now},
        )
        encrypt = pii.encrypt
        for start in range(0, len(plan.creates), chunk_size):
            ids = resident_ids[start : start + chunk_size]
            rows = []
            for rid, (item, key) in zip(ids, plan.creates[start : start + chunk_size], strict=True):
                household_id = households[key]
                national_id = item.national_id
                rows.append(
                    (
                        rid,
                        household_id,
                        household_compound[household_id],
                        item.name,
                        item.gender or "",
                        item.birth_date,
                        item.phone,
                        encrypt(national_id) if national_id else "",
                        item.id_hash if national_id else None,
                        national_id[-4:],
                        item.relation,
                        item.notes,
                    )
                )
                if item.categories:
                    created_by_row[item.row] = rid
            pipe.insert(writer, ids, rows)
            if progress:
                progress(start + len(ids))
    if progress and not plan.creates:
        progress(0)
    return households, household_compound, created_by_row


def _bulk_create_with_history(objs: list, *, user: User | None, reason: str, now) -> None:
    """The bulk_create path (SQLite): rows, then their '+' history rows, in batches."""
    model = type(objs[0])
    model.objects.bulk_create(objs, batch_size=BATCH)
    model.history.bulk_history_create(
        objs, batch_size=BATCH, default_user=user, default_change_reason=reason, default_date=now
    )


def _created_ids_by_row(plan: importing.Plan, community: Community) -> dict[int, int]:
    """Row number → new resident id, for the rows that brought vulnerable tags (bulk_create
    path; the COPY path knows the ids it reserved)."""
    wanted = {item.row: item for rid, item in plan.new_tags if rid is None}
    by_hash = {i.id_hash: row for row, i in wanted.items() if i.national_id}
    result: dict[int, int] = {}
    for chunk in importing._chunks(list(by_hash)):
        for rid, h in Resident.objects.filter(id_hash__in=chunk).values_list("id", "id_hash"):
            result[by_hash[h]] = rid
    no_id = {
        (i.name, i.building, i.unit, i.room): row for row, i in wanted.items() if not i.national_id
    }
    if no_id:
        for rid, name, number, unit, room in Resident.objects.filter(
            community_id=community.pk, id_hash__isnull=True, name__in={k[0] for k in no_id}
        ).values_list(
            "id", "name", "household__building__number", "household__unit", "household__room"
        ):
            row = no_id.get((name, number, unit, room))
            if row is not None:
                result[row] = rid
    return result


_UPDATED_FIELDS = ("name", "gender", "birth_date", "phone", "relation", "notes")


def _apply_updates(plan, households, household_compound, *, user, reason, now) -> None:
    """Move matched residents to the list's household and fill in what the list gives: an empty
    cell never erases a registered value. One '~' history row each."""
    if not plan.updates:
        return
    if pgcopy.available():
        rows, ids = [], []
        for rid, item, key in plan.updates:
            household_id = households[key]
            values = [getattr(item, name) for name in _UPDATED_FIELDS]
            rows.append(
                (
                    rid,
                    household_id,
                    household_compound[household_id],
                    *(None if value in ("", None) else value for value in values),
                    now,
                )
            )
            ids.append(rid)
        pgcopy.update(
            Resident,
            ("household_id", "compound_id", *_UPDATED_FIELDS, "updated_at"),
            rows,
            keep_when_null=_UPDATED_FIELDS,
        )
        for chunk in importing._chunks(sorted(ids), pgcopy.CHUNK):
            pgcopy.write_history(
                Resident, chunk, user=user, reason=reason, date=now, history_type="~"
            )
        return
    fields = ["household", "compound", *_UPDATED_FIELDS, "updated_at"]
    by_id = {rid: (item, key) for rid, item, key in plan.updates}
    for chunk in importing._chunks(list(by_id), BATCH):
        residents = list(Resident.objects.filter(pk__in=chunk))
        for resident in residents:
            item, key = by_id[resident.pk]
            resident.household_id = households[key]
            resident.compound_id = household_compound[resident.household_id]
            for name in _UPDATED_FIELDS:
                value = getattr(item, name)
                if value not in ("", None):
                    setattr(resident, name, value)
            resident.updated_at = now
        Resident.objects.bulk_update(residents, fields, batch_size=BATCH)
        Resident.history.bulk_history_create(
            residents,
            batch_size=BATCH,
            update=True,
            default_user=user,
            default_change_reason=reason,
            default_date=now,
        )


# ----------------------------------------------------------------------------- import jobs


def import_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_key(job_id: int) -> str:
    return f"wuyi:import-progress:{job_id}"


def import_job_create(
    *, user: User, community: Community, compound: Compound | None, upload
) -> ImportJob:
    """Keep the uploaded file and record the job. Refuses files over the size limit."""
    if upload.size > settings.WUYI_IMPORT_MAX_BYTES:
        raise ImportRefused(
            _("The file is %(size)d MB; the limit is %(limit)d MB. Split the list into parts.")
            % {
                "size": upload.size // (1024 * 1024),
                "limit": settings.WUYI_IMPORT_MAX_BYTES // (1024 * 1024),
            }
        )
    if upload.size == 0:
        raise ImportRefused(_("The file is empty."))
    suffix = Path(upload.name).suffix.lower()
    if suffix not in (".xlsx", ".xls", ".csv", ".txt"):
        raise ImportRefused(
            _("“%(name)s” is not an Excel or csv file. Upload an xlsx or csv file.")
            % {"name": upload.name}
        )
    target = import_dir() / f"{uuid.uuid4().hex}{suffix}"
    with target.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return ImportJob.objects.create(
        user=user,
        community=community,
        compound=compound,
        filename=Path(upload.name).name[:200],
        path=str(target),
        size=upload.size,
    )


def _job_progress(job: ImportJob) -> Callable[[int], None]:
    def report(done: int) -> None:
        cache.set(progress_key(job.pk), done, timeout=3600)

    return report


def _run_job(job: ImportJob, *, dry_run: bool) -> tuple[dict, str]:
    """Run the job's file through resident_import; the report and the job's next state."""
    try:
        report = resident_import(
            path=job.path,
            community=job.community,
            compound=job.compound,
            user=job.user,
            dry_run=dry_run,
            skip_bad_rows=job.skip_bad_rows,
            progress=_job_progress(job),
        )
    except ImportRefused as refused:
        return {
            **(refused.report or job.report),
            "refused": refused.message,
        }, ImportJob.State.CHECKED
    except importing.ImportFileError as exc:
        return {"file_error": exc.message}, ImportJob.State.FAILED
    return report, ImportJob.State.CHECKED if dry_run else ImportJob.State.DONE


def import_job_check(*, job_id: int) -> ImportJob:
    """The preview: read, check and plan the job's file; store the report. Writes no resident."""
    job = ImportJob.objects.select_related("community", "compound", "user").get(pk=job_id)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.CHECKING)
    report, state = _run_job(job, dry_run=True)
    job.report, job.state, job.total = report, state, report.get("total_rows", 0)
    job.save(update_fields=["report", "state", "total"])
    return job


def import_job_claim_commit(*, job_id: int, skip_bad_rows: bool) -> bool:
    """Mark a checked job for writing. False when it was not waiting (a double submit)."""
    return bool(
        ImportJob.objects.filter(pk=job_id, state=ImportJob.State.CHECKED).update(
            state=ImportJob.State.IMPORTING, skip_bad_rows=skip_bad_rows
        )
    )


def import_job_commit(*, job_id: int) -> ImportJob:
    """Write a claimed job. The job row stays locked while the import runs, so a task that is
    delivered twice writes once: the second run waits, then finds the job finished."""
    with transaction.atomic():
        # of=("self",): lock the job row only. The compound is nullable, so it is an outer join,
        # and PostgreSQL refuses FOR UPDATE on the nullable side of one.
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("community", "compound", "user")
            .get(pk=job_id)
        )
        if job.state != ImportJob.State.IMPORTING:
            return job
        report, state = _run_job(job, dry_run=False)
        job.report, job.state = report, state
        job.progress = report.get("total_rows", 0) if state == ImportJob.State.DONE else 0
        job.finished_at = timezone.now() if state == ImportJob.State.DONE else None
        job.save(update_fields=["report", "state", "progress", "finished_at"])
    if state == ImportJob.State.DONE:
        Path(job.path).unlink(missing_ok=True)
    return job


# ----------------------------------------------------------------------------- personal data


def resident_reveal(*, user: User, resident: Resident) -> dict[str, str]:
    """The full ID number and phone, for a role that may see them; recorded."""
    PersonalDataAccess.objects.create(
        user=user,
        kind=PersonalDataAccess.Kind.VIEW,
        community_id=resident.community_id,
        resident=resident,
        detail={"fields": ["national_id", "phone"]},
    )
    return {"national_id": resident.national_id, "phone": resident.phone}


# ----------------------------------------------------------------------------- one resident

RESIDENT_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "relation",
    "notes",
    "quarantine",
    "quarantine_from",
    "quarantine_until",
)


TEXT_FIELDS = {"name", "gender", "phone", "relation", "notes", "quarantine"}


class RegisterError(Exception):
    """A change to the register was refused; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def resident_save(
    *,
    user: User,
    household: Household,
    data: dict,
    national_id: str | None = None,
    resident: Resident | None = None,
) -> Resident:
    """Create (resident None) or update one resident; records history.

    `national_id` is a normalised ID number, '' to clear it, or None to leave it unchanged. The
    household must be one the user may see (callers load it through visible_to). Two residents
    never share an ID number.
    """
    if not may_edit_register(user):
        raise PermissionDenied(_("Your role may not change the resident register."))
    errors: dict[str, str] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _("The name is empty.")
    if national_id:
        taken = Resident.objects.filter(id_hash=pii.id_hash(national_id))
        if resident is not None:
            taken = taken.exclude(pk=resident.pk)
        if taken.exists():
            errors["national_id"] = _("Another resident is registered with this ID number.")
    start, end = data.get("quarantine_from"), data.get("quarantine_until")
    if start and end and end < start:
        errors["quarantine_until"] = _("The quarantine cannot end before it starts.")
    if errors:
        raise RegisterError(errors)

    with transaction.atomic():
        resident = resident or Resident()
        resident.household = household
        for field in RESIDENT_FIELDS:
            if field in data:
                value = data[field]
                if value is None and field in TEXT_FIELDS:
                    value = ""
                setattr(resident, field, value)
        resident.name = name
        if national_id is not None:
            resident.set_national_id(national_id)
            if national_id:
                resident.birth_date = normalize.birth_date_from_id(national_id)
                resident.gender = normalize.gender_from_id(national_id)
        resident._history_user = user
        try:
            resident.save()
        except IntegrityError:
            raise RegisterError(
                {"national_id": _("Another resident is registered with this ID number.")}
            ) from None
    return resident


def resident_tag_set(
    *,
    user: User,
    resident: Resident,
    category: str,
    details: str = "",
    due_date=None,
    treatment: str = "",
    schedule: str = "",
) -> VulnerableTag:
    """Add a resident to the ledger under a category, or update that line."""
    if not may_edit_register(user):
        raise PermissionDenied(_("Your role may not change the resident register."))
    tag, _created = VulnerableTag.objects.get_or_create(resident=resident, category=category)
    tag.details, tag.due_date, tag.treatment, tag.schedule = details, due_date, treatment, schedule
    tag._history_user = user
    tag.save()
    return tag


def resident_tag_remove(*, user: User, tag: VulnerableTag) -> None:
    if not may_edit_register(user):
        raise PermissionDenied(_("Your role may not change the resident register."))
    tag._history_user = user
    tag.delete()


# ----------------------------------------------------------------------------- export

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def residents_export_xlsx(*, user: User, residents, full: bool, filters: dict, fh) -> int:
    """Write the residents to an xlsx in `fh`, masked unless `full` (which needs the role);
    record who exported what. Streams rows: memory stays flat whatever the count."""
    from openpyxl import Workbook

    from accounts.access import may_see_full_personal_data

    if full and not may_see_full_personal_data(user):
        raise PermissionDenied(_("Your role may not export full ID numbers and phones."))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Residents"))
    sheet.append(
        [
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
    )
    count = 0
    for resident in residents.iterator(chunk_size=2000):
        row = [
            resident.compound.name,
            resident.household.address,
            resident.name,
            resident.get_gender_display(),
            resident.age,
            resident.national_id if full else resident.masked_national_id,
            resident.phone if full else resident.masked_phone,
            resident.relation,
            "、".join(str(tag.get_category_display()) for tag in resident.tags.all()),
            resident.get_quarantine_display() if resident.quarantine else "",
            resident.notes,
        ]
        sheet.append([spreadsheet_safe(v) for v in row])
        count += 1
    workbook.save(fh)
    community_id = user.place_id if getattr(user, "level", None) == "community" else None
    PersonalDataAccess.objects.create(
        user=user,
        kind=PersonalDataAccess.Kind.EXPORT_FULL if full else PersonalDataAccess.Kind.EXPORT,
        community_id=community_id,
        detail={"filters": filters},
        row_count=count,
    )
    return count
