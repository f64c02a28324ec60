"""The REST framework's side of errors: a Refused anywhere under an API view is a 400 that
carries the same message a page shows, field by field."""

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Refused


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Refused):
        body: dict[str, Any] = {field: [message] for field, message in exc.errors.items()}
        body["detail"] = str(exc.message)
        if exc.row is not None:
            body["row"] = exc.row
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def as_validation_error(refused: Refused):
    """A Refused as DRF's ValidationError, for code inside a serializer's save()."""
    from rest_framework.exceptions import ValidationError

    return ValidationError({field: [message] for field, message in refused.errors.items()})
