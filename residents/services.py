"""Writes on the resident register: residents, households, the ledger, imports, full views
and exports. Every write that checks a rule or records history is here; views, the API, the
admin and the import command call these functions and nothing else writes."""

import datetime
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Level, User
from compounds.models import Building, Community, Compound
from wuyi.lib import cn, pgcopy, spreadsheets
from wuyi.lib.errors import Refused
from wuyi.lib.spreadsheets import ImportFileError

from . import rules, signals
from .importing.parse import header_of, parse_rows
from .importing.plan import Plan, plan_import
from .importing.write import write_plan
from .models import (
    Category,
    CategoryMapping,
    Household,
    ImportJob,
    LeftReason,
    PersonalDataAccess,
    Resident,
    VulnerableTag,
)
from .personal import (  # noqa: F401 - the rest re-exported: callers keep services.<name>
    _record_access,
    export_columns,
    record_admin_export,
    resident_call,
    resident_reveal,
    residents_export_xlsx,
    task_call_record,
)

log = logging.getLogger(__name__)


def _require_keeper(user: Any) -> None:
    if not rules.may_edit_register(user):
        raise PermissionDenied(_("Your role may not change the resident register."))


# ----------------------------------------------------------------------------- the import


class ImportRefused(Refused):
    """The import was not written. `report` lists the reasons (row, column, message)."""

    code = "import"

    def __init__(self, message: Any, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report or {}


def resident_import(
    *,
    path: str | Path,
    community_id: int,
    compound_id: int | None,
    by: User | None,
    dry_run: bool,
    skip_bad_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Check, and unless dry_run write, one resident list for one community.

    Read (wuyi.lib.spreadsheets), parse, plan, write: one direction. All or nothing: with any
    bad row and skip_bad_rows False nothing is written and ImportRefused carries the report.
    Re-importing the same file changes nothing: residents are matched on the ID number's hash,
    or on household and name when they have none, and empty cells never erase registered
    values. Raises ImportFileError when the file itself cannot be read.
    """
    rows = spreadsheets.read_rows(path)
    first = list(itertools.islice(rows, spreadsheets.HEADER_SCAN_ROWS))
    mappings = dict(
        CategoryMapping.objects.filter(community_id=community_id).values_list("word", "category")
    )
    parsed = parse_rows(
        itertools.chain(first, rows), header_of(first), mappings=mappings, progress=progress
    )
    if dry_run:
        preview = plan_import(parsed=parsed, community_id=community_id, compound_id=compound_id)
        _record_conflicts(preview, by=by, compound_id=compound_id, community_id=community_id)
        return {**preview.report(), "committed": False}
    plan: Plan | None = None
    try:
        with transaction.atomic():
            # One import per community at a time: the lock makes the plan, made inside the
            # transaction, still true when it is written.
            Community.objects.select_for_update().get(pk=community_id)
            plan = plan_import(parsed=parsed, community_id=community_id, compound_id=compound_id)
            report = plan.report()
            if plan.errors and not skip_bad_rows:
                raise ImportRefused(
                    _("The list has %(n)d bad rows; nothing was imported.") % {"n": plan.bad_rows},
                    report,
                )
            written = write_plan(plan, by=by, progress=progress)
            # The foreign keys of the rows just written are checked at COMMIT, against the new
            # households and residents: give the planner their real size first (and the
            # ledger and history tables theirs, for the pages read next).
            pgcopy.analyze_if_stale(written)
    except ImportRefused:
        # Outside the transaction the refusal rolled back.
        _record_conflicts(plan, by=by, compound_id=compound_id, community_id=community_id)
        raise
    except IntegrityError as exc:
        log.warning("resident import hit a constraint: %s", type(exc).__name__)
        raise ImportRefused(
            _("The register changed while importing; nothing was imported. Try again.")
        ) from exc
    _record_conflicts(plan, by=by, compound_id=compound_id, community_id=community_id)
    return {**report, "committed": True}


def _record_conflicts(
    plan: Plan | None, *, by: User | None, compound_id: int | None, community_id: int
) -> None:
    """Rows whose ID number is registered elsewhere: one record of the attempt."""
    if plan is not None and plan.id_conflicts and by is not None:
        places = (
            [(Level.COMPOUND, compound_id)] if compound_id else [(Level.COMMUNITY, community_id)]
        )
        _record_access(
            by=by,
            kind=PersonalDataAccess.Kind.ID_CONFLICT,
            places=places,
            detail={"via": "import"},
            row_count=plan.id_conflicts,
        )


# ----------------------------------------------------------------------------- import jobs


def import_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_key(job_id: int) -> str:
    return f"wuyi:import-progress:{job_id}"


def import_job_create(
    *, by: User, community: Community, compound: Compound | None, upload
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
        user=by,
        community=community,
        compound=compound,
        filename=Path(upload.name).name[:200],
        path=str(target),
        size=upload.size,
    )


def heartbeat_key(job_id: int) -> str:
    return f"wuyi:import-heartbeat:{job_id}"


def _heartbeat_every() -> float:
    """Seconds between two heartbeats written to the job row: a tenth of the lease."""
    return max(1.0, settings.WUYI_IMPORT_LEASE_SECONDS / 10)


def _cache_heartbeat(job_id: int, now: datetime.datetime) -> None:
    timeout = settings.WUYI_IMPORT_LEASE_SECONDS * 4
    cache.set(heartbeat_key(job_id), now.timestamp(), timeout=timeout)


def import_job_heartbeat(*, job_id: int, now: datetime.datetime | None = None) -> None:
    """The run of a job is alive. The time goes to the cache (shared by web and worker) every
    time, and to the job row when no transaction is open: a commit runs inside the import's
    transaction, which holds the job row (on PostgreSQL that lock is the commit's proof of
    life: a killed worker's connection closes and drops it)."""
    now = now or timezone.now()
    _cache_heartbeat(job_id, now)
    if not transaction.get_connection().in_atomic_block:
        ImportJob.objects.filter(pk=job_id, state__in=ImportJob.RUNNING).update(heartbeat_at=now)


def _job_progress(job: ImportJob) -> Callable[[int], None]:
    """The progress callback of a run: rows done to the cache, and a heartbeat now and then."""
    last = [time.monotonic()]

    def report(done: int) -> None:
        cache.set(progress_key(job.pk), done, timeout=3600)
        if time.monotonic() - last[0] >= _heartbeat_every():
            last[0] = time.monotonic()
            import_job_heartbeat(job_id=job.pk)

    return report


# A job whose run killed the worker is delivered again (acks_late); after this many starts it
# is failed instead, so that a file that crashes the reader is not retried forever.
MAX_JOB_ATTEMPTS = 3


def _run_job(job: ImportJob, *, dry_run: bool) -> tuple[dict, str]:
    """Run the job's file through resident_import; the report and the job's next state. Any
    error ends the job with a message: a page polling it stops, and nothing is half-written
    (the import is one transaction)."""
    try:
        report = resident_import(
            path=job.path,
            community_id=job.community_id,
            compound_id=job.compound_id,
            by=job.user,
            dry_run=dry_run,
            skip_bad_rows=job.skip_bad_rows,
            progress=_job_progress(job),
        )
    except ImportRefused as refused:
        return {
            **(refused.report or job.report),
            "refused": str(refused.message),
        }, ImportJob.State.CHECKED
    except ImportFileError as exc:
        return {"file_error": str(exc.message)}, ImportJob.State.FAILED
    except Exception as exc:
        # Not the user's fault and not theirs to read: logged by type only (the file holds
        # personal data), answered with a message that says what to do.
        log.error("import job %s failed: %s", job.pk, type(exc).__name__)
        return {"file_error": str(MSG_JOB_BROKE)}, ImportJob.State.FAILED
    return report, ImportJob.State.CHECKED if dry_run else ImportJob.State.DONE


MSG_JOB_BROKE = _(
    "The list could not be read: the check stopped with an error. Save the file again from "
    "Excel, or split it into parts, and upload it again."
)
MSG_JOB_CRASHED = _(
    "The list could not be read: the worker stopped %(n)d times while reading it. Save the "
    "file again from Excel, or split it into parts, and upload it again."
)
ENDED = (ImportJob.State.DONE, ImportJob.State.FAILED)


def _start_attempt(job_id: int, *, state: str) -> ImportJob | None:
    """Count a start of the job (committed at once, so a run that kills the worker still
    counts) and give its first heartbeat. None, with the job failed, when it has been started
    too often."""
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id).update(attempts=F("attempts") + 1, heartbeat_at=now)
    _cache_heartbeat(job_id, now)
    job = ImportJob.objects.select_related("community", "compound", "user").get(pk=job_id)
    if job.attempts > MAX_JOB_ATTEMPTS and job.state == state:
        _end_job(job, report={"file_error": str(MSG_JOB_CRASHED % {"n": MAX_JOB_ATTEMPTS})})
        return None
    return job


def _move_job(job_id: int, *, current: str, to: str, by: Any = None, **fields: Any) -> bool:
    """Move a job from `current` to `to` if the graph has the move (rules.IMPORT_JOB) and the
    job is still in `current` (a conditional UPDATE: of two workers or two clicks, one moves
    it). False when it was not in `current` any more."""
    rules.IMPORT_JOB.check(current, to, by=by)
    return bool(ImportJob.objects.filter(pk=job_id, state=current).update(state=to, **fields))


def _set_job_state(job: ImportJob, state: str) -> None:
    """Set the state of a job its caller holds (locked, or just claimed), checked against the
    graph; the caller saves it."""
    rules.IMPORT_JOB.check(job.state, state)
    job.state = state


def _end_job(job: ImportJob, *, report: dict, state: str = ImportJob.State.FAILED) -> None:
    """A job ends (done or failed): its report is kept, its uploaded file deleted."""
    _set_job_state(job, state)
    job.report = report
    job.finished_at = timezone.now()
    job.save(update_fields=["report", "state", "finished_at"])
    Path(job.path).unlink(missing_ok=True)


def import_job_check(*, job_id: int) -> ImportJob:
    """The preview: read, check and plan the job's file; store the report. Writes no resident.
    A job already past its check (a task delivered twice) is left as it is."""
    current = ImportJob.objects.values_list("state", flat=True).get(pk=job_id)
    if current not in (ImportJob.State.QUEUED, ImportJob.State.CHECKING):
        return ImportJob.objects.get(pk=job_id)
    if current == ImportJob.State.QUEUED:  # else a check delivered again, already CHECKING
        _move_job(job_id, current=current, to=ImportJob.State.CHECKING)
    job = _start_attempt(job_id, state=ImportJob.State.CHECKING)
    if job is None:
        return ImportJob.objects.get(pk=job_id)
    report, state = _run_job(job, dry_run=True)
    job.total = report.get("total_rows", 0)
    job.save(update_fields=["total"])
    if state == ImportJob.State.FAILED:
        _end_job(job, report=report)
    else:
        _set_job_state(job, state)
        job.report = report
        job.save(update_fields=["report", "state"])
    return job


TEMPLATE_EXAMPLE = [
    1,
    "张桂兰",
    "女",
    "620102195003120021",
    "13893112345",
    "1",
    "1",
    "101",
    "户主",
    "独居老人、慢性病(糖尿病)",
    "",
]


def import_template_xlsx(*, fh: IO[bytes]) -> None:
    """The list committees fill in: the header the import reads, one example row, and a second
    sheet with the category words it understands."""
    from openpyxl import Workbook

    from .importing.parse import TEMPLATE_HEADER

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Residents")
    sheet.append(TEMPLATE_HEADER)
    sheet.append(TEMPLATE_EXAMPLE)
    for column in "DE":
        for cell in sheet[column]:
            cell.number_format = "@"  # ID numbers and phones as text: Excel keeps every digit
    words = workbook.create_sheet(_("Categories"))
    words.append([_("Category"), _("Words the import understands")])
    by_category: dict[str, list[str]] = {}
    for word, category in rules.CATEGORY_WORDS.items():
        if word not in Category.values:
            by_category.setdefault(category, []).append(word)
    for value, label in Category.choices:
        words.append([str(label), "、".join(by_category.get(value, []))])
    workbook.save(fh)


def category_words_map(*, by: User, job: ImportJob, words: dict[str, str]) -> ImportJob:
    """Map words the list used for categories ({word: category}) for the job's community,
    remembered for its later lists, and check the list again with them. Words mapped to ""
    stay unknown."""
    _require_keeper(by)
    with transaction.atomic():
        for word, category in words.items():
            if not category:
                continue
            if category not in Category.values:
                raise Refused(_("Choose one of the listed categories."), field=word)
            word = cn.free_text(word)[:40]
            CategoryMapping.objects.update_or_create(
                community_id=job.community_id,
                word=word,
                defaults={"category": category, "created_by": by},
            )
        updated = _move_job(
            job.pk, current=ImportJob.State.CHECKED, to=ImportJob.State.QUEUED, by=by, attempts=0
        )
    if not updated:
        raise Refused(_("This list is no longer waiting to be imported; upload it again."))
    return import_job_check(job_id=job.pk)


def import_job_claim_commit(*, job_id: int, skip_bad_rows: bool, by: Any = None) -> bool:
    """Mark a checked job for writing. False when it was not waiting (a double submit).
    `by`: the keeper who asked (None in the tests that drive the worker directly)."""
    return _move_job(
        job_id,
        current=ImportJob.State.CHECKED,
        to=ImportJob.State.IMPORTING,
        by=by,
        skip_bad_rows=skip_bad_rows,
        heartbeat_at=timezone.now(),
    )


def import_job_commit(*, job_id: int) -> ImportJob:
    """Write a claimed job. The job row stays locked while the import runs, so a task that is
    delivered twice writes once: the second run waits, then finds the job finished. The job's
    new state is written in the import's own transaction: the residents and "done" commit
    together, and a run that dies leaves neither (the job is then failed by its lease)."""
    if _start_attempt(job_id, state=ImportJob.State.IMPORTING) is None:
        return ImportJob.objects.get(pk=job_id)
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
        _set_job_state(job, state)
        job.report = report
        fields = ["report", "state"]
        if state == ImportJob.State.DONE:
            job.progress = report.get("total_rows", 0)
            fields.append("progress")
        if state in ENDED:
            job.finished_at = timezone.now()
            fields.append("finished_at")
        job.save(update_fields=fields)
    if state in ENDED:
        Path(job.path).unlink(missing_ok=True)
    return job


# ----------------------------------------------------------------------------- lease and retry

MSG_JOB_STALLED = _(
    "The import stopped: the background worker running it gave no sign of life for "
    "%(minutes)d minutes (it may have been stopped or restarted). Nothing was written to the "
    "register. Try again."
)
# Lazy: said to the user who clicks, in their language (the stalled message is stored in the
# job's report when the sweep writes it, like the other reports).
MSG_RETRY_GONE = gettext_lazy("The uploaded file is no longer kept; upload the list again.")
MSG_RETRY_NOT_STALLED = gettext_lazy(
    "This import did not stop halfway; there is nothing to try again."
)


def _heartbeat_in_cache(job_id: int) -> float:
    value = cache.get(heartbeat_key(job_id))
    return float(value) if isinstance(value, int | float) else 0.0


def import_jobs_expire(
    *, now: datetime.datetime | None = None, job_ids: Sequence[int] | None = None
) -> int:
    """Fail the running jobs whose run gave no sign of life within the lease
    (WUYI_IMPORT_LEASE_SECONDS): a worker killed, restarted or never started. Beat runs it every
    minute; a job's page runs it for that job, so the page never shows a dead job's progress.

    A job is failed in a short transaction that locks its row with SKIP LOCKED: a commit that
    is still running holds that lock for its whole transaction, so it is never failed under
    its feet, and nobody waits for it. A worker that died took its transaction with it (one
    transaction: nothing was written), so the retry starts from the same register. The file
    is kept for the retry (the daily purge deletes it with the job's other files). Returns how
    many jobs were failed."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.WUYI_IMPORT_LEASE_SECONDS)
    stale = ImportJob.objects.filter(state__in=ImportJob.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    if job_ids is not None:
        stale = stale.filter(pk__in=list(job_ids))
    failed = 0
    for pk in list(stale.values_list("pk", flat=True)[:100]):
        if _heartbeat_in_cache(pk) >= cutoff.timestamp():
            continue  # alive: its progress says so (the row waits for its transaction)
        with transaction.atomic():
            job = (
                ImportJob.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state__in=ImportJob.RUNNING)
                .filter(
                    Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
                )
                .first()
            )
            if job is None:
                continue  # finished meanwhile, or a live commit holds it
            minutes = max(1, round(settings.WUYI_IMPORT_LEASE_SECONDS / 60))
            retry = "commit" if job.state == ImportJob.State.IMPORTING else "check"
            job.report = {
                **job.report,
                "stalled": str(MSG_JOB_STALLED % {"minutes": minutes}),
                "retry": retry,
            }
            _set_job_state(job, ImportJob.State.FAILED)
            job.finished_at = now
            job.save(update_fields=["report", "state", "finished_at"])
        log.warning("import job %s lost its worker during %s", pk, retry)
        failed += 1
    return failed


def import_job_retry(*, by: User, job: ImportJob) -> ImportJob:
    """Start again a job its lease failed: from the check, or from the commit with the choice
    made before (skip bad rows or not). The commit plans again from the file inside its own
    transaction, so a register changed meanwhile is taken as it is now; the import stays all
    or nothing. A second click, or a job that did not stall, is refused without change."""
    _require_keeper(by)
    retry = job.report.get("retry")
    if job.state != ImportJob.State.FAILED or retry not in rules.IMPORT_RETRY:
        raise Refused(MSG_RETRY_NOT_STALLED)
    if not Path(job.path).is_file():
        raise Refused(MSG_RETRY_GONE)
    report = {k: v for k, v in job.report.items() if k not in ("stalled", "retry")}
    updated = _move_job(
        job.pk,
        current=ImportJob.State.FAILED,
        to=rules.IMPORT_RETRY[retry],
        by=by,
        attempts=0,
        heartbeat_at=timezone.now(),
        finished_at=None,
        report=report,
    )
    if not updated:
        raise Refused(MSG_RETRY_NOT_STALLED)
    cache.delete(progress_key(job.pk))
    job.refresh_from_db()
    return job


def import_files_purge(*, older_than: datetime.timedelta) -> tuple[int, int]:
    """Uploaded lists hold plaintext ID numbers and phones: a job not finished within
    `older_than` is ended and its file deleted; files no job knows are deleted too.
    Idempotent. Returns (files deleted, jobs ended)."""
    cutoff = timezone.now() - older_than
    ended = 0
    for job in ImportJob.objects.filter(created_at__lt=cutoff).exclude(state__in=ENDED):
        _end_job(job, report={**job.report, "file_error": str(MSG_JOB_EXPIRED)})
        ended += 1
    known = set(ImportJob.objects.exclude(state__in=ENDED).values_list("path", flat=True))
    deleted = 0
    for path in import_dir().iterdir():
        if str(path) in known or not path.is_file():
            continue
        modified = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
        if modified < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted, ended


MSG_JOB_EXPIRED = _(
    "The list was not imported within a day; its file was deleted. Upload it again."
)


# ----------------------------------------------------------------------------- households


def _unique_address(household: Household) -> None:
    clash = Household.objects.filter(
        building_id=household.building_id, unit=household.unit, room=household.room
    )
    if household.pk is not None:
        clash = clash.exclude(pk=household.pk)
    if clash.exists():
        raise Refused(
            _("%(address)s is already registered as a household.") % {"address": household.address}
        )


def household_save(
    *,
    by: User,
    building: Building,
    unit: Any = "",
    room: Any,
    notes: Any = "",
    household: Household | None = None,
) -> Household:
    """Create (household None) or change a household's address; records history.

    The address goes through rules.clean_address, as the import and search read it, so one flat
    is one household however it was typed. A household stays in its compound (its residents
    carry the compound). The building must be one the user may see (callers load it through
    visible_to).
    """
    _require_keeper(by)
    address = rules.clean_address(building.number, unit, room)
    rules.check_room_floor(address.room, building=building.number, floors=building.floor_count)
    notes = cn.clean_text(notes, max_length=rules.HOUSEHOLD_NOTES_MAX, field="notes")
    if household is not None and building.compound_id != household.compound_id:
        raise Refused(
            _("A household cannot move to a building of another compound."), field="building"
        )
    household = household or Household()
    household.building = building
    household.compound_id = building.compound_id
    household.unit, household.room, household.notes = address.unit, address.room, notes
    _unique_address(household)
    household._history_user = by
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        _unique_address(household)  # someone registered it meanwhile: say so
        raise
    return household


def household_merge(*, by: User, source: Household, target: Household) -> Household:
    """Move every resident of `source` into `target` and remove `source` (the same flat
    registered twice). Both must be in one compound; history records each move."""
    _require_keeper(by)
    if source.pk == target.pk:
        raise Refused(_("Choose another household to merge into."), field="target")
    if source.compound_id != target.compound_id:
        raise Refused(_("Households of different compounds cannot be merged."), field="target")
    reason = _("Household %(source)s merged into %(target)s") % {
        "source": source.address,
        "target": target.address,
    }
    with transaction.atomic():
        for resident in Resident.objects.select_for_update().filter(household=source):
            resident.household = target
            resident._history_user = by
            resident._change_reason = reason
            resident.save()
        source._history_user = by
        source._change_reason = reason
        source.delete()
    return target


def on_compound_moved(*, compound, to_community_id: int, **kwargs) -> int:
    """A compound moved to another community: its residents carry the community (the scope
    filter and the search indexes sit on the resident row), so they move in the same
    transaction. One UPDATE, whatever the count."""
    return Resident.objects.filter(compound_id=compound.pk).update(community_id=to_community_id)


# ----------------------------------------------------------------------------- one resident


def resident_save(
    *,
    by: User | None,  # None (an admin import run without a user) is refused like any non-keeper
    household: Household,
    data: dict,
    national_id: str | None = None,
    resident: Resident | None = None,
) -> Resident:
    """Create (resident None) or update one resident; records history.

    The record is judged as a whole, as it will stand after the change (rules.check_resident):
    the stored values with `data` on top, whichever fields `data` carries. `national_id` is an
    ID number as typed ('' clears it, None leaves it as it is). The household must be one the
    user may see (callers load it through visible_to). Two current residents never share an ID
    number. Raises Refused naming every field at fault.
    """
    _require_keeper(by)
    if resident is not None and not resident.is_current:
        raise Refused(_("This resident has left the register and cannot be changed."))
    record = {field: getattr(resident, field) if resident else None for field in FIELDS}
    record.update({field: value for field, value in data.items() if field in FIELDS})
    if national_id is None:
        id18 = resident.national_id if resident is not None else ""
    else:
        try:
            id18 = cn.normalize_national_id(national_id)
        except cn.NormalizeError as exc:
            raise Refused(exc.message, field="national_id") from None
    if national_id is not None:
        # A new ID number brings its own gender and birth date, unless this very change gives
        # them (then they must agree with it).
        for field in ("gender", "birth_date"):
            if field not in data:
                record[field] = None
    cleaned = rules.check_resident(record, national_id=id18)
    if id18 and national_id is not None:
        others = Resident.objects.current().filter(id_hash=Resident.national_id_columns(id18)[1])
        if resident is not None:
            others = others.exclude(pk=resident.pk)
        if others.exists():
            _id_conflict(by=by, compound_id=household.compound_id, via="form")

    with transaction.atomic():
        resident = resident or Resident()
        resident.household = household
        for field in FIELDS:
            setattr(resident, field, cleaned[field])
        if national_id is not None:
            resident.set_national_id(id18)
        resident._history_user = by
        try:
            with transaction.atomic():
                resident.save()
        except IntegrityError:
            raise Refused(rules.MSG_ID_TAKEN, field="national_id") from None
    return resident


def _id_conflict(*, by: User | None, compound_id: int, via: str, rows: int = 1) -> None:
    """Someone tried to register ID numbers that are registered already (here or in another
    community): recorded, and refused in words that do not say where."""
    if by is not None:
        _record_access(
            by=by,
            kind=PersonalDataAccess.Kind.ID_CONFLICT,
            places=[(Level.COMPOUND, compound_id)],
            detail={"via": via},
            row_count=rows,
        )
    if via == "form":
        raise Refused(rules.MSG_ID_TAKEN, field="national_id")


FIELDS = Resident.RECORD_FIELDS


def resident_leave(
    *,
    by: User,
    resident: Resident,
    reason: str,
    on: datetime.date | None = None,
    note: str = "",
) -> Resident:
    """Take a resident off the register (moved out, deceased, entered by mistake). The row
    stays, with its history; lists, counts and searches no longer show it, and the ID number
    may be registered again (elsewhere, after a move)."""
    _require_keeper(by)
    if reason not in LeftReason.values:
        raise Refused(_("Choose why the resident leaves the register."), field="reason")
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise Refused(_("The date cannot be in the future."), field="on")
    note = cn.clean_text(note, max_length=200, field="note")
    with transaction.atomic():
        resident = Resident.objects.select_for_update().get(pk=resident.pk)
        if not resident.is_current:
            return resident  # a double submit: already off the register
        resident.left_on, resident.left_reason = on, reason
        resident._history_user = by
        resident._change_reason = " ".join(
            part for part in (str(LeftReason(reason).label), note) if part
        )
        resident.save(update_fields=["left_on", "left_reason", "updated_at"])
        signals.resident_left.send(sender=Resident, resident=resident, by=by, reason=reason, on=on)
    return resident


def resident_tag_set(
    *,
    by: User,
    resident: Resident,
    category: str,
    details: str = "",
    due_date=None,
    treatment: str = "",
    schedule: str = "",
) -> VulnerableTag:
    """Add a resident to the ledger under a category, or update that line."""
    _require_keeper(by)
    tag, _created = VulnerableTag.objects.get_or_create(resident=resident, category=category)
    tag.details, tag.due_date, tag.treatment, tag.schedule = details, due_date, treatment, schedule
    tag._history_user = by
    tag.save()
    return tag


def resident_tag_remove(*, by: User, tag: VulnerableTag) -> None:
    _require_keeper(by)
    tag._history_user = by
    tag.delete()
