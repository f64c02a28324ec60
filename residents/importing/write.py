"""Writing a resident import: the plan's households, residents, updates and ledger lines, each
with its history row, inside the caller's transaction.

The last of the import's three steps (parse, plan, write). The rows are built once, here, for
every database; only the final write differs (:class:`CopySink` on PostgreSQL: COPY with ids
reserved from the sequences, history by INSERT ... SELECT, updates joined with VALUES;
:class:`OrmSink` elsewhere: bulk_create, bulk_update and simple-history's bulk history). Both
write the same rows, which the tests compare.
"""

import datetime
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from wuyi.lib import pgcopy
from wuyi.lib.iters import batched, chunks

from ..models import Category, Household, Resident, VulnerableTag
from .plan import Plan

BATCH = 2000

# The resident columns a new row gets from a list (every other field takes its default).
RESIDENT_COLUMNS = (
    "household_id",
    "compound_id",
    *Resident.LIST_FIELDS,
    *Resident.NATIONAL_ID_COLUMNS,
)


class Sink:
    """The final write: the one thing the COPY path and the ORM path do differently."""

    def __init__(self, *, user: Any, reason: str, now: datetime.datetime) -> None:
        self.user, self.reason, self.now = user, reason, now
        # Rows written per table (history tables included), for pgcopy.analyze_if_stale.
        self.written: Counter[type[models.Model]] = Counter()

    def count(self, model: type[models.Model], rows: int) -> None:
        """`rows` rows of `model` written, each with a history row."""
        self.written[model] += rows
        history = pgcopy.history_model(model)
        if history is not None:
            self.written[history] += rows

    def insert(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        count: int,
        constants: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        """Insert `count` rows (values in `fields` order), each with a '+' history row.
        Returns the new ids in row order."""
        raise NotImplementedError

    def update(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        keep_when_null: Iterable[str],
    ) -> None:
        """Update rows (pk, *values in `fields` order); None in a `keep_when_null` field keeps
        the stored value. One '~' history row each."""
        raise NotImplementedError


class CopySink(Sink):
    """PostgreSQL: COPY in chunks on a pipeline, so that building (and encrypting) the next
    chunk overlaps with the server writing this one."""

    def insert(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        count: int,
        constants: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        if not count:
            return []
        ids = pgcopy.reserve_ids(model, count)
        writer = pgcopy.CopyWriter(model, ("id", *fields), constants=constants)
        done = 0
        with pgcopy.Pipeline(user=self.user, reason=self.reason, date=self.now) as pipe:
            for batch in batched(rows, pgcopy.CHUNK):
                block = ids[done : done + len(batch)]
                pipe.insert(writer, block, [(i, *row) for i, row in zip(block, batch, strict=True)])
                done += len(batch)
                if progress:
                    progress(done)
        self.count(model, done)
        return ids

    def update(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        keep_when_null: Iterable[str],
    ) -> None:
        pgcopy.update(model, fields, rows, keep_when_null=keep_when_null)
        for block in chunks(sorted(row[0] for row in rows), pgcopy.CHUNK):
            pgcopy.write_history(
                model, block, user=self.user, reason=self.reason, date=self.now, history_type="~"
            )
        history = pgcopy.history_model(model)
        if history is not None:
            self.written[history] += len(rows)


class OrmSink(Sink):
    """Any other database: bulk_create (which returns the ids) and bulk_update."""

    def _history(self, objs: list, *, update: bool = False) -> None:
        type(objs[0]).history.bulk_history_create(
            objs,
            batch_size=BATCH,
            update=update,
            default_user=self.user,
            default_change_reason=self.reason,
            default_date=self.now,
        )

    def insert(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        count: int,
        constants: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        ids: list[int] = []
        for batch in batched(rows, BATCH):
            objs = [
                model(**dict(zip(fields, row, strict=True)), **(constants or {})) for row in batch
            ]
            model._default_manager.bulk_create(objs, batch_size=BATCH)
            self._history(objs)
            ids.extend(obj.pk for obj in objs)
            if progress:
                progress(len(ids))
        self.count(model, len(ids))
        return ids

    def update(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        keep_when_null: Iterable[str],
    ) -> None:
        keep = set(keep_when_null)
        by_id = {row[0]: row[1:] for row in rows}
        for block in chunks(list(by_id), BATCH):
            objs = list(model._default_manager.filter(pk__in=block))
            for obj in objs:
                for name, value in zip(fields, by_id[obj.pk], strict=True):
                    if value is None and name in keep:
                        continue
                    setattr(obj, name, value)
            model._default_manager.bulk_update(objs, fields, batch_size=BATCH)
            self._history(objs, update=True)
            history = pgcopy.history_model(model)
            if history is not None:
                self.written[history] += len(objs)


def write_plan(
    plan: Plan, *, by: Any, progress: Callable[[int], None] | None = None
) -> Counter[type[models.Model]]:
    """Write the plan: new households, new residents, updates, new ledger lines, and a history
    row for each, all at one time. Returns the rows written per table (history included), for
    the caller to analyze before COMMIT."""
    now = timezone.now()
    sink_class = CopySink if pgcopy.available() else OrmSink
    sink = sink_class(user=by, reason=_("Imported from a resident list"), now=now)
    households, household_compound = _write_households(plan, sink)
    created_by_row = _write_new_residents(
        plan, sink, households, household_compound, now=now, progress=progress
    )
    _write_updates(plan, sink, households, household_compound, now=now)
    _write_tags(plan, sink, created_by_row, now=now)
    return sink.written


def _write_households(
    plan: Plan, sink: Sink
) -> tuple[dict[tuple[int, str, str], int], dict[int, int]]:
    """Households: the new ones get ids; every household written into needs its compound.
    Returns the household ids by (building, unit, room) and the compound of each."""
    new_households = list(plan.new_households.items())
    new_ids = sink.insert(
        Household,
        ("compound_id", "building_id", "unit", "room"),
        (
            (compound_id, building_id, key[1], key[2])
            for key, (compound_id, building_id) in new_households
        ),
        count=len(new_households),
    )
    households = dict(plan.households)
    household_compound: dict[int, int] = {}
    for hid, (key, (compound_id, _building)) in zip(new_ids, new_households, strict=True):
        households[key] = hid
        household_compound[hid] = compound_id
    written_into = {households[key] for _item, key in plan.creates}
    written_into |= {households[key] for _r, _i, key in plan.updates}
    for block in chunks(sorted(written_into - household_compound.keys())):
        household_compound.update(
            Household.objects.filter(pk__in=block).values_list("id", "compound_id")
        )
    return households, household_compound


def _write_new_residents(
    plan: Plan,
    sink: Sink,
    households: dict[tuple[int, str, str], int],
    household_compound: dict[int, int],
    *,
    now: datetime.datetime,
    progress: Callable[[int], None] | None,
) -> dict[int, int]:
    """New residents: the ID number goes through the one function that stores it. Returns the
    new resident's id by the list's row number."""

    def resident_rows():
        columns = Resident.national_id_columns
        for item, key in plan.creates:
            household_id = households[key]
            yield (
                household_id,
                household_compound[household_id],
                *(getattr(item, name) or _empty(name) for name in Resident.LIST_FIELDS),
                *columns(item.national_id, id_hash=item.id_hash),
            )

    resident_ids = sink.insert(
        Resident,
        RESIDENT_COLUMNS,
        resident_rows(),
        count=len(plan.creates),
        constants={"community_id": plan.community_id, "created_at": now, "updated_at": now},
        progress=progress,
    )
    if progress and not plan.creates:
        progress(0)
    return {item.row: rid for rid, (item, _key) in zip(resident_ids, plan.creates, strict=True)}


def _write_updates(
    plan: Plan,
    sink: Sink,
    households: dict[tuple[int, str, str], int],
    household_compound: dict[int, int],
    *,
    now: datetime.datetime,
) -> None:
    """Matched residents move to the list's household and take what the list gives: an empty
    cell never erases a registered value."""
    if not plan.updates:
        return
    rows = []
    for rid, item, key in plan.updates:
        household_id = households[key]
        values = (getattr(item, name) for name in Resident.LIST_FIELDS)
        rows.append(
            (
                rid,
                household_id,
                household_compound[household_id],
                *(None if value in ("", None) else value for value in values),
                now,
            )
        )
    sink.update(
        Resident,
        ("household_id", "compound_id", *Resident.LIST_FIELDS, "updated_at"),
        rows,
        keep_when_null=Resident.LIST_FIELDS,
    )


def _write_tags(
    plan: Plan, sink: Sink, created_by_row: dict[int, int], *, now: datetime.datetime
) -> None:
    """Ledger lines the residents do not have yet."""
    existing_tags: set[tuple[int, str]] = set()
    for block in chunks([rid for rid, _item in plan.new_tags if rid is not None]):
        existing_tags.update(
            VulnerableTag.objects.filter(resident_id__in=block).values_list(
                "resident_id", "category"
            )
        )
    tags: list[tuple[int, str, str, str]] = []
    for resident_id, item in plan.new_tags:
        rid = resident_id if resident_id is not None else created_by_row[item.row]
        for category in item.categories:
            if (rid, category) not in existing_tags:
                treatment = item.treatment if category == Category.CHRONIC else ""
                details = item.details.get(category, "")[:200]
                tags.append((rid, category, treatment, details))
    sink.insert(
        VulnerableTag,
        ("resident_id", "category", "treatment", "details"),
        tags,
        count=len(tags),
        constants={"created_at": now},
    )


def _empty(name: str) -> Any:
    """The stored value of an empty cell: '' for text, None for a date."""
    return None if name == "birth_date" else ""
