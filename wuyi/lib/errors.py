"""One base for every refusal: a rule said no, nothing was changed, and the user reads why.

A service, a rule or a reader raises :class:`Refused` (or a subclass) with a message in words a
secretary understands (a lazily translated string, so it renders in the reader's language).
Views add it to their form with :func:`add_to_form`; the API turns it into a 400 with the same
message (:mod:`wuyi.lib.drf`); a management command prints it. So the same refusal reads the
same everywhere.

``field`` names the form or API field at fault; ``row`` and ``column`` locate a cell of an
uploaded list; ``errors`` carries several field messages at once (a whole record checked
together).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NON_FIELD = "non_field_errors"


class Refused(Exception):
    """The change was not made; ``message`` says why."""

    code = "refused"

    def __init__(
        self,
        message: Any,
        *,
        field: str | None = None,
        row: int | None = None,
        column: str | None = None,
        code: str | None = None,
        errors: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row
        self.column = column
        if code is not None:
            self.code = code
        self._errors = dict(errors) if errors else None

    def __str__(self) -> str:
        return str(self.message)

    @property
    def errors(self) -> dict[str, str]:
        """{field (or NON_FIELD): message} for every message this refusal carries."""
        if self._errors:
            return {key or NON_FIELD: str(value) for key, value in self._errors.items()}
        return {self.field or NON_FIELD: str(self.message)}

    @classmethod
    def of_fields(cls, errors: Mapping[str, Any]) -> Refused:
        """A refusal carrying one message per field (the first one is the headline)."""
        first_field, first = next(iter(errors.items()))
        return cls(first, field=first_field, errors=errors)

    def located(self) -> str:
        """The message with its row and column, as a command line prints it."""
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(str(self.column))
        return (", ".join(where) + ": " if where else "") + str(self.message)


def add_to_form(form: Any, refused: Refused) -> None:
    """Show a refusal on a Django form: each message on its field when the form has one."""
    for field, message in refused.errors.items():
        form.add_error(field if field in form.fields else None, message)
