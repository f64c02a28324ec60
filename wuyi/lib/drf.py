"""The REST framework's side of errors: a Refused anywhere under an API view is a 400 that
carries the same message a page shows, field by field; every error body has one shape, the
schema's "Error" component, and the schema documents each error an operation can give.

An error body is ``{"detail": "<what is wrong>", "<field>": ["<message>", ...], ...}``: a 401,
403 or 404 carries the detail alone; a 400 names each field of the body (or
``non_field_errors``) at fault with its messages, and a bad query or path parameter by its
name, with the detail too. :func:`document_errors`, a drf-spectacular
postprocessing hook, adds to each operation the errors it can give, with examples built from
the very messages the code returns.
"""

from collections.abc import Callable
from typing import Any, ClassVar

from django.db import models
from django.http import Http404, JsonResponse
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, generics, parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Refused
from .pagination import Pagination
from .params import MAX_ID, BadParameter, choice_param, int_param, text_param

NON_FIELD = "non_field_errors"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Refused):
        return Response(refused_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        # Django's message names the model, in English; the API says "not found" in the
        # reader's language, for an id that does not exist and one outside their reach alike.
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = field_errors_body(response.data)
    return response


def refused_body(refused: Refused) -> dict[str, Any]:
    body: dict[str, Any] = {field: [message] for field, message in refused.errors.items()}
    body["detail"] = str(refused.message)
    if refused.row is not None:
        body["row"] = refused.row
    return body


def _messages(value: Any) -> list[str]:
    """Every message in a serializer's error detail, flattened to strings."""
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def field_errors_body(data: Any) -> dict[str, Any]:
    """A serializer's errors in the Error shape, {field: [message, ...]}: a bare list of
    messages is put under non_field_errors, a nested error flattened into its field."""
    items = data.items() if isinstance(data, dict) else [(NON_FIELD, data)]
    return {str(field): _messages(value) for field, value in items}


def as_validation_error(refused: Refused):
    """A Refused as DRF's ValidationError, for code inside a serializer's save()."""
    return exceptions.ValidationError(
        {field: [message] for field, message in refused.errors.items()}
    )


def refusals(**examples: Any):
    """Documents the 400s an API view (or a viewset's action) answers for its rules, beside
    the bad input every operation gets: {example name: a Refused, or a function returning
    one (for a message with values, formatted in the schema reader's language)}. Put it
    above @action."""

    def mark(func):
        func.api_refusals = examples
        return func

    return mark


def _refusal_examples(view: Any, method: str) -> dict[str, Any]:
    """The examples @refusals put on the view's handler of this operation."""
    if view is None:
        return {}
    handler = getattr(view, getattr(view, "action", None) or method, None)
    found = {}
    for name, refused in getattr(handler, "api_refusals", {}).items():
        if callable(refused) and not isinstance(refused, Refused):
            refused = refused()
        found[name] = _example(str(refused.message), refused_body(refused))
    return found


def call_service(func, **kwargs):
    """An app's service called from an API view or serializer: a refusal is a 400 naming the
    fields at fault, a forbidden action a 403."""
    from django.core.exceptions import PermissionDenied

    try:
        return func(**kwargs)
    except Refused as refused:
        raise as_validation_error(refused) from None
    except PermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from None


# ----------------------------------------------------------------------------- the views


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField takes 501 for "501", but the schema says string
    and a client that sends a number has a bug worth a 400 "Not a valid string"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# A wall-clock time of day in Asia/Shanghai ("07:30", "07:30:00"), as the apps store it: no
# offset. OpenAPI's `format: time` is RFC 3339's full-time, which requires one, so a client
# (or a response check) holding the schema to its word would refuse every time we send.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": LOCAL_TIME_PATTERN,
        "example": "07:30",
        "description": "Local time of day (Asia/Shanghai), HH:MM or HH:MM:SS, no offset.",
    }
)
class LocalTimeField(serializers.TimeField):
    """A time of day without an offset, documented as such (see LOCAL_TIME_PATTERN)."""


class StrictBooleanField(serializers.BooleanField):
    """true or false, and only those: DRF's BooleanField takes 0, 1, "yes" and "on" where the
    schema says boolean, so a client sending 0 for false is accepted by luck."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def request_user(serializer: serializers.BaseSerializer) -> Any:
    """The user a serializer works for: its request's, or None (the schema being generated)."""
    return getattr(serializer.context.get("request"), "user", None)


class ScopedRelations:
    """Every writable relation of the serializer offers the rows its user sees, when the
    related model's manager has visible_to: an id beyond their reach is refused as one that does
    not exist (a 400 naming the field), never taken as another community's row. `narrow`
    narrows a field further ({"resident": lambda rows: rows.current()})."""

    narrow: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def get_fields(self):
        fields = super().get_fields()
        user = request_user(self)
        for name, field in fields.items():
            related = getattr(field, "child_relation", field)
            queryset = getattr(related, "queryset", None)
            if queryset is None:
                continue
            manager = queryset.model._default_manager
            if not hasattr(manager, "visible_to"):
                continue
            # No user (the schema being generated): nothing to offer.
            rows = manager.visible_to(user) if user is not None else queryset.none()
            related.queryset = self.narrow[name](rows) if name in self.narrow else rows
        return fields


class Serializer(ScopedRelations, serializers.Serializer):
    """The API's plain serializers (an action's body): relations scoped (ScopedRelations)."""


class ModelSerializer(ScopedRelations, serializers.ModelSerializer):
    """The API's model serializers: relations scoped (ScopedRelations), text fields are
    StrictCharFields, booleans StrictBooleanFields, times LocalTimeFields, and a read-only
    choice that may be blank says so (its enum plus "")."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.TimeField: LocalTimeField,
    }

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        # DRF drops allow_blank from a field made read-only, so the schema would promise one of
        # the choices where the row holds "" (a round not yet done, an order not delivered).
        blank_choice = bool(kwargs.get("allow_blank") and kwargs.get("choices"))
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs


# What every API viewset of the project shares (no docstring: the schema would show it as each
# operation's description): the pages above, and an id in the path read like a query
# parameter, so anything but a whole number from 1 up is a 400 naming ``id`` (the schema's name
# for it) instead of a 404, or past the database's integers a 500. Anything up to the next
# slash reaches the view: "1.5" or "-7e-07" is refused by it, in JSON, rather than turned by the
# router into a format suffix or a page of HTML. Bodies are JSON only: a form encoding has no
# null and no types, and a malformed multipart body reads as an empty one (a PATCH that
# "succeeds" changing nothing); any other content type is a 415. document_errors says all this
# in the schema.
class ApiView(generics.GenericAPIView):
    pagination_class = Pagination
    parser_classes = [parsers.JSONParser]
    lookup_value_regex = "[^/]+"
    # Query parameters that name an object the view loads (a 404 when out of reach).
    lookup_query_params: tuple[str, ...] = ()

    def get_object(self):
        int_param({"id": self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)}, "id")
        return super().get_object()


# ----------------------------------------------------------------------------- the schema

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "An error. `detail` says what is wrong in words a user understands. A 400 names "
        "each field of the body at fault (or `non_field_errors`) with its messages; a bad "
        "query or path parameter is named the same way, beside the `detail`."
    ),
    "properties": {
        "detail": {"type": "string"},
        "row": {"type": "integer", "description": "The row of an uploaded list, when one."},
    },
    "minProperties": 1,
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITES = {"post", "put", "patch", "delete"}


def _example(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": body}


def _detail(exc: exceptions.APIException) -> dict[str, Any]:
    return {"detail": str(exc.detail)}


def _bad_parameter(parameter: dict[str, Any]) -> dict[str, Any] | None:
    """The body wuyi.lib.params gives for a bad value of this query or path parameter."""
    name, schema = parameter["name"], parameter.get("schema", {})
    try:
        if schema.get("enum"):
            choice_param({name: "?"}, name, [str(v) for v in schema["enum"] if v])
        elif schema.get("type") == "integer":
            int_param({name: "?"}, name)
        elif schema.get("type") == "string":
            text_param({name: "\x00"}, name)
    except BadParameter as exc:
        return refused_body(exc)
    return None


def _required_fields(result: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The fields a request body must carry (read-only ones are not sent)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    component = result.get("components", {}).get("schemas", {}).get(ref.rpartition("/")[2], {})
    properties = component.get("properties", {})
    return [
        name
        for name in component.get("required", [])
        if not properties.get(name, {}).get("readOnly")
    ]


def _views_by_operation(generator) -> dict[tuple[str, str], Any]:
    views = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        view = generator.create_view(callback, method)
        views[(generator.coerce_path(path, method, view), method.lower())] = view
    return views


_ErrorEntry = tuple[str, dict[str, Any], dict[str, Any]]


def _error_responses(
    result: dict[str, Any], method: str, operation: dict[str, Any], view: Any
) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """{status: (description, examples, headers)} for the errors this operation can give."""
    errors: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    authenticators = view.get_authenticators() if view is not None else []
    unauthorized = _unauthorized(operation, authenticators)
    if unauthorized is not None:
        errors["401"] = unauthorized
    bad = _bad_input_examples(result, method, operation, view)
    if bad:
        errors["400"] = (
            "Bad input: each field or parameter at fault, with its messages.",
            bad,
            {},
        )
    if method in WRITES and "requestBody" in operation:
        errors["415"] = (
            "The body is not JSON.",
            {
                "not_json": _example(
                    "A form sent instead of JSON",
                    _detail(exceptions.UnsupportedMediaType("multipart/form-data")),
                )
            },
            {},
        )
    if method in WRITES and view is not None:
        errors["403"] = ("Not allowed.", _forbidden_examples(view, authenticators), {})
    missing = _not_found_examples(operation, view)
    if missing:
        errors["404"] = ("Not found.", missing, {})
    return errors


def _unauthorized(operation: dict[str, Any], authenticators: list[Any]) -> _ErrorEntry | None:
    """The 401 of an operation that needs credentials, with the challenge it answers."""
    security = operation.get("security") or []
    challenge = authenticators[0].authenticate_header(None) if authenticators else None
    if not (security and {} not in security and challenge):
        return None
    return (
        "No credentials, or credentials that are not valid.",
        {
            "not_authenticated": _example("No credentials", _detail(exceptions.NotAuthenticated())),
            "invalid_token": _example(
                "A token that is not valid",
                _detail(exceptions.AuthenticationFailed(gettext("Invalid token."))),
            ),
        },
        {
            "WWW-Authenticate": {
                "description": "How to authenticate: `Token`.",
                "required": True,
                "schema": {"type": "string", "example": challenge},
            }
        },
    )


def _bad_input_examples(
    result: dict[str, Any], method: str, operation: dict[str, Any], view: Any
) -> dict[str, Any]:
    """The 400 examples: bad parameters, a body that is not an object or lacks a field, and
    the view's own refusals."""
    bad: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") in ("query", "path"):
            body = _bad_parameter(parameter)
            if body is not None:
                bad[f"{parameter['in']}_{parameter['name']}"] = _example(
                    f"A bad value of the {parameter['in']} parameter “{parameter['name']}”", body
                )
    if method in WRITES and "requestBody" in operation:
        invalid = serializers.Serializer.default_error_messages["invalid"]
        bad["not_an_object"] = _example(
            "The body is not a JSON object",
            field_errors_body({NON_FIELD: [str(invalid).format(datatype="list")]}),
        )
        required = _required_fields(result, operation)
        if required and method != "patch":
            message = str(serializers.Field.default_error_messages["required"])
            bad["required"] = _example(
                f"“{required[0]}” missing", field_errors_body({required[0]: [message]})
            )
    bad.update(_refusal_examples(view, method))
    return bad


def _forbidden_examples(view: Any, authenticators: list[Any]) -> dict[str, Any]:
    """The 403 examples of a write: the role's refusal, and a session without its CSRF token."""
    forbidden = {}
    messages = [
        str(permission.message)
        for permission in view.get_permissions()
        if getattr(permission, "message", None)
    ]
    forbidden["role"] = _example(
        "The user's role may not do this",
        {"detail": messages[0] if messages else str(exceptions.PermissionDenied.default_detail)},
    )
    if any(type(a).__name__ == "SessionAuthentication" for a in authenticators):
        forbidden["csrf"] = _example(
            "Signed in by session cookie, without the CSRF token",
            {"detail": "CSRF Failed: CSRF token missing."},
        )
    return forbidden


def _not_found_examples(operation: dict[str, Any], view: Any) -> dict[str, Any]:
    """The 404 examples: an object out of reach (named in the path, or by a query parameter
    the view lists in ``lookup_query_params``), and a page past the last."""
    parameters = {(p.get("in"), p.get("name")) for p in operation.get("parameters", [])}
    lookups = getattr(view, "lookup_query_params", ()) if view is not None else ()
    missing = {}
    if any(
        where == "path" or (where, name) in {("query", q) for q in lookups}
        for where, name in parameters
    ):
        missing["not_found"] = _example(
            "No such object, or one outside the user's reach: the two answer alike",
            _detail(exceptions.NotFound()),
        )
    paginator = getattr(view, "paginator", None) if view is not None else None
    if paginator is not None and ("query", paginator.page_query_param) in parameters:
        message = paginator.invalid_page_message.format(page_number=2, message="")
        missing["page_past_the_last"] = _example(
            "A page past the last one", _detail(exceptions.NotFound(message))
        )
    return missing


# Query and path parameters as wuyi.lib.params reads them (the views of ApiView read every one
# through it): an id or a number from 1, free text without control characters, and an empty
# value the same as none.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"


def _document_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.setdefault("schema", {})
        if parameter.get("in") == "path" and parameter.get("name") == "id":
            parameter["schema"] = dict(ID_SCHEMA)
            parameter.setdefault("description", "The object's id.")
        elif parameter.get("in") == "query":
            parameter["allowEmptyValue"] = True
            if schema.get("type") == "integer":
                schema.update(ID_SCHEMA)
            elif schema.get("type") == "string" and not schema.get("enum"):
                schema.setdefault("pattern", NO_CONTROL_CHARACTERS)


def document_errors(result: dict[str, Any], generator, request, public, **kwargs) -> dict:
    """drf-spectacular postprocessing hook: the shared Error component, and on each operation
    the 400, 401, 403 and 404 it can give, with an example of each (JSON, as returned); the
    parameters of ApiView's views as wuyi.lib.params reads them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    views = _views_by_operation(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            view = views.get((path, method))
            if isinstance(view, ApiView):
                _document_parameters(operation)
            errors = _error_responses(result, method, operation, view)
            for code, (description, examples, headers) in errors.items():
                response: dict[str, Any] = {
                    "description": description,
                    "content": {"application/json": {"schema": ERROR_REF, "examples": examples}},
                }
                if headers:
                    response["headers"] = headers
                operation["responses"].setdefault(code, response)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return result


def api_not_found(request, *args: Any, **kwargs: Any) -> JsonResponse:
    """An address under /api/ that no route serves: the API's JSON 404, not the HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
