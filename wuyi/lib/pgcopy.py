"""Bulk writes on PostgreSQL with COPY: the resident import, the SMS outbox, the daily rosters.

Use it when one transaction writes tens of thousands of rows. bulk_create sends an INSERT of a
few thousand rows at a time and simple-history writes the history rows the same way from
Python; on the bench machines that is about 29,000 rows/s against about 250,000 for COPY. Here:

- ids are taken from the table's own sequence first (nextval, one per row: safe when other
  sessions insert at the same time), so the caller knows each new row's id without reading it
  back;
- rows are streamed with ``COPY ... FROM STDIN WITH (FORMAT csv)`` in chunks (memory stays
  flat): every string is quoted, so an empty string stays '' and only None (written as nothing)
  becomes NULL; commas, quotes, newlines and tabs inside a quoted value are data;
- the history rows are written by the server from the rows just copied
  (``INSERT INTO history (...) SELECT ... FROM table WHERE id BETWEEN first AND last``);
- :class:`Pipeline` hands each chunk's COPY and history INSERT to a worker thread on the same
  connection, so that Python prepares the next chunk (encrypting ID numbers) while PostgreSQL
  writes this one. psycopg2 lets go of the GIL while it waits for the server.

Updates go the same way: :func:`update` joins the table with a VALUES list instead of
bulk_update's ``CASE WHEN`` per row and field.

Column lists come from the models' ``_meta``: a column the caller does not give is filled with
the field's default exactly as ``Model()`` + bulk_create would (a field with only a database
default is left to the database), and the history columns are the history model's tracked
fields. A field added later is therefore written, or the insert fails loudly; it is never
dropped silently.

A typical write, with the rows' history::

    ids = pgcopy.reserve_ids(Model, len(items))
    writer = pgcopy.CopyWriter(Model, ("id", "a_id", "name"), constants={"created_at": now})
    with pgcopy.Pipeline(user=user, reason=reason, date=now) as pipe:
        for start in range(0, len(items), pgcopy.CHUNK):
            block = ids[start : start + pgcopy.CHUNK]
            pipe.insert(writer, block, [(i, *row) for i, row in zip(block, items[start:])])

Everything runs on the caller's connection, inside the caller's transaction: a failure
anywhere rolls all of it back. Callers check :func:`available` first; other databases (and
psycopg 3, whose COPY interface differs) keep bulk_create.
"""

import datetime
import io
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connections, models
from django.db.models.expressions import DatabaseDefault

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - an install without PostgreSQL never calls in here
    sql = None

CHUNK = 10_000  # rows per COPY: a few MB of csv at most


def _cast_type(field: models.Field, connection: Any) -> str:
    """The type to cast a parameter to: text for text fields (an explicit cast to varchar(n)
    would cut a long value silently; the column itself refuses it), else the column type."""
    if isinstance(field, models.CharField | models.TextField):
        return "text"
    return cast(str, field.db_type(connection))  # a concrete column has a type


def available(using: str = "default") -> bool:
    """True when the COPY path can be used on this database: PostgreSQL through psycopg2."""
    if connections[using].vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


def _csv(value: Any) -> str:
    """One value as a csv field for COPY: NULL is an empty unquoted field, text is quoted."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to COPY; use timezone.now()")
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    raise TypeError(f"COPY cannot write a {type(value).__name__}")


def reserve_ids(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
    """`count` new primary keys from the table's sequence, ascending."""
    if count <= 0:
        return []
    connection = connections[using]
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [connection.ops.quote_name(opts.db_table), opts.pk.column],
        )
        sequence = cursor.fetchone()[0]
        if sequence is None:
            raise ValueError(f"{opts.db_table}.{opts.pk.column} has no sequence")
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
        )
        ids = [row[0] for row in cursor.fetchall()]
    ids.sort()
    return ids


class CopyWriter:
    """COPY rows into one model's table.

    `fields` are the attnames the caller gives in each row, in order; `constants` maps attnames
    to one value shared by every row. Every other concrete field gets its default.
    """

    def __init__(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        *,
        constants: dict[str, Any] | None = None,
        using: str = "default",
        table: str | None = None,
    ) -> None:
        self.model = model
        self.using = using
        connection = connections[using]
        constants = dict(constants or {})
        concrete = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in [*fields, *constants] if name not in concrete]
        if unknown:
            raise ValueError(f"{model.__name__} has no concrete field {', '.join(unknown)}")
        if set(fields) & set(constants):
            raise ValueError("a field is given both per row and as a constant")
        if not fields:
            raise ValueError("give at least one field per row")
        columns = [concrete[name].column for name in fields]
        tail: list[str] = []
        for attname, field in concrete.items():
            if attname in fields:
                continue
            if field.primary_key and attname not in constants:
                continue  # left to the table's sequence (give "id" to know the new ids)
            value = constants[attname] if attname in constants else field.get_default()
            if isinstance(value, DatabaseDefault):
                continue  # left out of the column list: the database fills it in
            columns.append(field.column)
            tail.append(_csv(field.get_db_prep_save(value, connection)))
        self.width = len(fields)
        self.columns = columns
        self.suffix = "".join("," + value for value in tail) + "\n"
        self.statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            sql.Identifier(table or model._meta.db_table),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )

    def csv(self, rows: Iterable[Sequence[Any]]) -> bytes:
        """The rows (tuples of Python values, in `fields` order) as COPY input."""
        buffer = io.StringIO()
        write, suffix, width = buffer.write, self.suffix, self.width
        for row in rows:
            if len(row) != width:
                raise ValueError(f"a row has {len(row)} values, expected {width}")
            write(",".join(map(_csv, row)) + suffix)
        return buffer.getvalue().encode()

    def send(self, cursor: Any, data: bytes) -> None:
        """COPY `data` (from csv()) through a psycopg2 cursor."""
        if data:
            cursor.copy_expert(self.statement, io.BytesIO(data), size=len(data))


def insert_new(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: dict[str, Any] | None = None,
    using: str = "default",
) -> int:
    """Insert the rows that a unique constraint does not already hold; returns how many went in.

    COPY into a temporary table of the written columns, then ``INSERT ... SELECT ... ON
    CONFLICT DO NOTHING``: as fast as COPY, and a row that exists (or that another session
    inserts meanwhile) is skipped, not an error. For jobs that must create each row once
    however often they run (a week of shifts, the day's sanitation rounds). Run it inside a
    transaction (the temporary table is dropped at commit). No history rows are written.
    """
    connection = connections[using]
    temp = f"wuyi_new_{model._meta.db_table}"[:60]
    writer = CopyWriter(model, fields, constants=constants, using=using, table=temp)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in writer.columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # Only the columns written: the real table's identity then numbers the new rows.
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(sql.Identifier(temp), columns, sql.Identifier(model._meta.db_table))
        )
        raw = cursor.cursor
        for block in _blocks(rows, CHUNK):
            writer.send(raw, writer.csv(block))
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                sql.Identifier(model._meta.db_table), columns, columns, sql.Identifier(temp)
            )
        )
        inserted = cursor.rowcount
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(temp)))
    return inserted


def _blocks(rows: Iterable[Sequence[Any]], size: int):
    block: list[Sequence[Any]] = []
    for row in rows:
        block.append(row)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def update(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keep_when_null: Iterable[str] = (),
    using: str = "default",
) -> int:
    """Update many rows in one statement per chunk: ``UPDATE table SET f = v.f, ... FROM
    (VALUES ...) v WHERE table.pk = v.pk``. Each row is (pk, *values in `fields` order). For the
    fields in `keep_when_null` a None keeps the stored value. Returns the count updated.

    bulk_update writes ``CASE WHEN pk = 1 THEN ... WHEN pk = 2 ...`` for every field, which
    PostgreSQL evaluates branch by branch for every row: about 500 rows/s at 2,000 a batch on
    the bench machines, against about 10,000 rows/s here (history rows included).
    """
    if not rows:
        return 0
    from psycopg2.extras import execute_values

    connection = connections[using]
    opts = model._meta
    keep = set(keep_when_null)
    pk = opts.pk
    by_attname = {f.attname: f for f in opts.concrete_fields}
    unknown = [name for name in fields if name not in by_attname]
    if unknown:
        raise ValueError(f"{model.__name__} has no concrete field {', '.join(unknown)}")
    targets = [by_attname[name] for name in fields]
    names = [sql.Identifier(f"v{n}") for n in range(len(targets) + 1)]
    assignments = []
    for field, name in zip(targets, names[1:], strict=True):
        value: sql.Composable = sql.SQL("v.{}").format(name)
        if field.attname in keep:
            value = sql.SQL("COALESCE({}, t.{})").format(value, sql.Identifier(field.column))
        assignments.append(sql.SQL("{} = {}").format(sql.Identifier(field.column), value))
    statement = sql.SQL(
        "UPDATE {table} AS t SET {assignments} FROM (VALUES %s) AS v ({names}) "
        "WHERE t.{pk} = v.{key}"
    ).format(
        table=sql.Identifier(opts.db_table),
        assignments=sql.SQL(", ").join(assignments),
        names=sql.SQL(", ").join(names),
        pk=sql.Identifier(pk.column),
        key=names[0],
    )
    # Typed placeholders: VALUES would otherwise guess text for every column.
    template = "(" + ", ".join(f"%s::{_cast_type(f, connection)}" for f in [pk, *targets]) + ")"
    updated = 0
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            for row in chunk:
                if len(row) != len(targets) + 1:
                    raise ValueError(f"a row has {len(row)} values, expected {len(targets) + 1}")
            execute_values(raw, statement, chunk, template=template, page_size=len(chunk))
            updated += raw.rowcount
    return updated


def analyze_if_stale(added: dict[type[models.Model], int], *, using: str = "default") -> list[str]:
    """ANALYZE, inside the caller's transaction, each table whose planner row count
    (pg_class.reltuples) is below the number of rows just inserted into it (`added`); returns
    the tables analyzed. PostgreSQL only; nothing elsewhere.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so PostgreSQL checks every new
    row's parent at COMMIT with ``SELECT 1 FROM ONLY parent x WHERE id = $1 FOR KEY SHARE OF
    x``, planned with the parent's statistics as they stand. After a parent table's rows were
    deleted and the table analyzed (or vacuumed without being truncated), those say 0 rows on
    pages that are still there: the planner then costs an index where id is a trailing column
    (household_room_idx (room, id), resident_name_idx (name, id)) no dearer than the primary
    key, may take it, and each check reads that whole index. On the bench that turned a 1.5 s
    COMMIT into 50-270 s for 100,000 residents. ANALYZE counts the transaction's own new rows,
    so the checks use the primary key. It takes a SHARE UPDATE EXCLUSIVE lock until COMMIT
    (another import's ANALYZE of the same table waits); pg_class is updated even if the
    transaction rolls back (statistics only).
    """
    return _analyze_when(added, lambda reltuples, count: reltuples < count, using=using)


# Autovacuum's own rule for when a table's statistics are stale: more rows changed than
# autovacuum_analyze_threshold + autovacuum_analyze_scale_factor x reltuples (the defaults).
ANALYZE_THRESHOLD, ANALYZE_SCALE = 50, 0.1


def analyze_after_delete(
    removed: dict[type[models.Model], int], *, using: str = "default"
) -> list[str]:
    """ANALYZE each table from which the caller just deleted many rows (`removed`): more than
    autovacuum would wait for (50 + 10 % of pg_class.reltuples). A purge run by beat does not
    wait for autovacuum (off on the bench machines, behind on a busy server) to tell the
    planner that the rows are gone. Returns the tables analyzed; PostgreSQL only. A bulk
    insert into a table left counting few rows analyzes it again (analyze_if_stale)."""
    return _analyze_when(
        removed,
        lambda reltuples, count: count > ANALYZE_THRESHOLD + ANALYZE_SCALE * max(reltuples, 0),
        using=using,
    )


def _analyze_when(
    changed: dict[type[models.Model], int],
    stale: Callable[[float, int], bool],
    *,
    using: str = "default",
) -> list[str]:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    analyzed = []
    with connection.cursor() as cursor:
        for model, count in changed.items():
            if count <= 0:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            (reltuples,) = cursor.fetchone()
            if stale(reltuples, count):  # reltuples -1: never analyzed
                cursor.execute(f"ANALYZE {table}")
                analyzed.append(model._meta.db_table)
    return analyzed


def history_model(model: type[models.Model]) -> type[models.Model] | None:
    """The simple-history model recording `model`, or None."""
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, attribute).model if attribute else None


_HISTORY_SET = ("history_date", "history_change_reason", "history_type", "history_user")


def history_statement(
    model: type[models.Model],
    ids: Sequence[int],
    *,
    user: Any,
    reason: str,
    date: datetime.datetime,
    history_type: str = "+",
    using: str = "default",
) -> tuple[Any, list[Any]] | None:
    """The INSERT ... SELECT that writes the history rows of the rows `ids` of `model`: the
    same rows as ``Model.history.bulk_history_create(objs, default_user=user,
    default_change_reason=reason, default_date=date)`` for the freshly written objects.
    None when there is nothing to write."""
    history = history_model(model)
    if history is None or not ids or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return None
    connection = connections[using]
    opts, hopts = model._meta, history._meta
    # get_default_history_user and tracked_fields are set by simple-history on the class it
    # generates; the stubs see a plain Model.
    if user is None:
        user = history.get_default_history_user(model())  # type: ignore[attr-defined]
    values = {
        "history_date": date,
        "history_change_reason": reason,
        "history_type": history_type,
        "history_user": getattr(user, "pk", user),
    }
    targets: list[sql.Composable] = []
    sources: list[sql.Composable] = []
    params: list[Any] = []
    tracked = {f.name for f in history.tracked_fields}  # type: ignore[attr-defined]
    for field in history.tracked_fields:  # type: ignore[attr-defined]
        # Tracked fields are concrete fields (with a column) of both models.
        targets.append(sql.Identifier(cast(models.Field, hopts.get_field(field.name)).column))
        sources.append(sql.Identifier(cast(models.Field, opts.get_field(field.name)).column))
    for field in hopts.concrete_fields:
        if field.name in tracked or field.primary_key:
            continue
        if field.name == "history_relation":
            targets.append(sql.Identifier(field.column))
            sources.append(sql.Identifier(opts.pk.column))
            continue
        value = values[field.name] if field.name in _HISTORY_SET else field.get_default()
        if isinstance(value, DatabaseDefault):
            continue
        targets.append(sql.Identifier(field.column))
        sources.append(sql.SQL("CAST(%s AS {})").format(sql.SQL(_cast_type(field, connection))))
        params.append(field.get_db_prep_save(value, connection))
    low, high = min(ids), max(ids)
    if high - low + 1 == len(ids) == len(set(ids)):
        # A block without gaps (the usual case for ids from reserve_ids): a range scan, about
        # twice as fast as matching against an array of 10,000 ids.
        template = (
            "INSERT INTO {history} ({targets}) SELECT {sources} FROM {table} "
            "WHERE {pk} BETWEEN %s AND %s ORDER BY {pk}"
        )
        where_params: list[Any] = [low, high]
    else:
        template = (
            "INSERT INTO {history} ({targets}) SELECT {sources} FROM {table} "
            "WHERE {pk} = ANY(%s) ORDER BY {pk}"
        )
        where_params = [list(ids)]
    statement = sql.SQL(template).format(
        history=sql.Identifier(hopts.db_table),
        targets=sql.SQL(", ").join(targets),
        sources=sql.SQL(", ").join(sources),
        table=sql.Identifier(opts.db_table),
        pk=sql.Identifier(opts.pk.column),
    )
    return statement, [*params, *where_params]


def write_history(model: type[models.Model], ids: Sequence[int], **kwargs: Any) -> None:
    """history_statement() run on the current thread, through the Django connection."""
    query = history_statement(model, ids, **kwargs)
    if query is not None:
        with connections[kwargs.get("using", "default")].cursor() as cursor:
            cursor.execute(*query)


class Pipeline:
    """Bulk inserts that overlap with the caller's Python work.

    insert() turns a chunk of rows into COPY input on the calling thread, then hands the COPY
    and the history INSERT to one worker thread and returns: the caller prepares the next chunk
    (encrypting ID numbers, say) while PostgreSQL writes this one. One chunk is in flight at a
    time; insert() and wait() first wait for the one before, and re-raise its error as Django's
    database exceptions. The worker uses the same connection, so the same transaction; while a
    chunk is in flight the caller must leave the database alone (the connection would only make
    it wait): call wait() first. Leaving the `with` block waits for the last chunk; leaving it
    with an exception waits too, and keeps that exception.
    """

    def __init__(
        self,
        *,
        user: Any,
        reason: str,
        date: datetime.datetime,
        using: str = "default",
    ) -> None:
        self.history = {"user": user, "reason": reason, "date": date, "using": using}
        self.connection = connections[using]
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def __enter__(self) -> "Pipeline":
        self.connection.ensure_connection()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pgcopy")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self._pending is not None:
                # Already failing: let the chunk in flight finish (the connection is shared),
                # keep the first error.
                futures_wait([self._pending])
                self._pending = None
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    def wait(self) -> None:
        """Wait for the chunk in flight; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            with self.connection.wrap_database_errors:
                pending.result()

    def insert(self, writer: CopyWriter, ids: Sequence[int], rows: Iterable[Sequence]) -> None:
        """COPY `rows` (whose first value is the id, from `ids`) and write their history."""
        if self._executor is None:
            raise RuntimeError("use the Pipeline in a with block")
        data = writer.csv(rows)
        history = history_statement(writer.model, ids, **self.history)
        self.wait()
        raw = self.connection.connection  # psycopg2's connection: thread-safe, same transaction
        self._pending = self._executor.submit(self._write, raw, writer, data, history)

    @staticmethod
    def _write(raw: Any, writer: CopyWriter, data: bytes, history) -> None:
        """On the worker thread: psycopg2 directly (Django's connection is per thread)."""
        with raw.cursor() as cursor:
            writer.send(cursor, data)
            if history is not None:
                cursor.execute(*history)
