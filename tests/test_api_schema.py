"""The API answers as its schema says: a bounded Schemathesis pass against a live server.

Schemathesis (its command line, `python -m schemathesis.cli run`, as CI or a developer would run
it by hand) takes the schema /api/schema/ serves and sends each operation of Django's live
server generated requests, valid and invalid: every phase and every check it has, a fixed seed,
a few dozen examples per operation. It runs as a register keeper (a secretary, who may write)
and as a volunteer (who reads none of the register, and writes nothing), with a row of every
app in the secretary's compound, so that the response checks hold real bodies to the schema.
No request may end in a 500, every response must be one the schema documents (status, content
type, headers, body: a "" where the schema promises one of its choices, or a time without the
offset `format: time` requires, fails), and whatever the pass wrote must still keep the
register's rules. The ids of real rows are handed to it, so that reads find rows
and writes change them. A failure prints Schemathesis's report, with a curl line to replay
each failing request.
"""

import json
import subprocess
import sys

import pytest
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from compounds.models import Building
from residents import rules, services
from residents.models import Household, Resident, VulnerableTag
from tests.residents.helpers import make_id
from tests.test_url_walk import factory_for, scoped_models
from wuyi.lib.cn import NormalizeError
from wuyi.lib.errors import Refused

SEED = 20260101
MAX_EXAMPLES = 10  # per operation and generation mode (about 110 operations: minutes)
# The volunteer reads none of the register and writes nothing: almost every request is refused
# before its body is read, so fewer examples find as much (and the suite stays under 15 min).
MAX_EXAMPLES_REFUSED = 4
TIMEOUT = 900  # seconds: a pass that hangs fails instead of holding up the suite


@pytest.fixture
def register(secretary_a, secretary_b, compound_a, compound_b):
    """Community A's households and residents (the secretary's reach) and one of community B's
    (outside it)."""
    b1, b2 = compound_a.buildings.order_by("number")
    homes = [
        services.household_save(by=secretary_a, building=b1, unit="2", room="501"),
        services.household_save(by=secretary_a, building=b2, unit="", room="101"),
    ]
    people = [
        services.resident_save(
            by=secretary_a,
            household=homes[0],
            data={"name": "张秀英", "phone": "13812345678", "relation": "户主"},
            national_id=make_id(1, "19500312", female=True),
        ),
        services.resident_save(
            by=secretary_a, household=homes[0], data={"name": "王强", "relation": "儿子"}
        ),
        services.resident_save(
            by=secretary_a,
            household=homes[1],
            data={"name": "李明"},
            national_id=make_id(3, "19900505"),
        ),
    ]
    VulnerableTag.objects.create(resident=people[0], category="elderly_alone")
    home_b = services.household_save(
        by=secretary_b, building=compound_b.buildings.get(), unit="1", room="101"
    )
    services.resident_save(
        by=secretary_b, household=home_b, data={"name": "赵敏"}, national_id=make_id(2)
    )
    return homes, people


def assert_register_rules_hold() -> None:
    """Every row in the database as the register's rules would have written it."""
    broken = []
    for home in Household.objects.select_related("building"):
        try:
            address = rules.clean_address(home.building.number, home.unit, home.room)
        except NormalizeError as exc:
            broken.append(f"household {home.pk} {home.address!r}: {exc.message}")
            continue
        if (address.building, address.unit, address.room) != (
            home.building.number,
            home.unit,
            home.room,
        ):
            broken.append(f"household {home.pk} {home.address!r} is stored as {address}")
        if home.compound_id != home.building.compound_id:
            broken.append(f"household {home.pk} is not in its building's compound")
    for person in Resident.objects.select_related("household"):
        record = {field: getattr(person, field) for field in Resident.RECORD_FIELDS}
        try:
            cleaned = rules.check_resident(record, national_id=person.national_id)
        except Refused as exc:
            broken.append(f"resident {person.pk} {record}: {exc.errors}")
            continue
        changed = {f: (record[f], cleaned[f]) for f in record if record[f] != cleaned[f]}
        if changed:
            broken.append(f"resident {person.pk} is not stored as the rules clean it: {changed}")
        if person.compound_id != person.household.compound_id:
            broken.append(f"resident {person.pk} is not in its household's compound")
    ids = [p.id_hash for p in Resident.objects.current().exclude(id_hash=None)]
    if len(ids) != len(set(ids)):
        broken.append("two current residents share an ID number")
    assert not broken, "the register's rules are broken:\n" + "\n".join(broken)


def register_changes() -> int:
    """How many changes the register's history holds."""
    return Household.history.count() + Resident.history.count()


def schemathesis_config(token: str, ids: list[int], max_examples: int = MAX_EXAMPLES) -> str:
    """schemathesis.toml for the pass: bounded and reproducible. Every phase runs (examples,
    coverage, fuzzing, stateful with links inferred from the responses) and every check."""
    return f"""
seed = {SEED}
workers = 1
max-failures = 50
[generation]
max-examples = {max_examples}
# Nothing kept between runs or written into the checkout.
database = "none"
[cache]
enabled = false

# The token as the schema's own security scheme, so that ignored_auth can take it away or
# spoil it and expect the 401 documented.
[auth.openapi.tokenAuth]
api_key = "Token {token}"

# Writes: the register's rules (an ID number's check digit, one household per flat, a household
# or building that exists and is in reach) cannot all be said in JSON Schema, so a schema-valid
# body may rightly be refused with a 400 naming the field at fault. positive_data_acceptance
# still fails a write refused any other way (405, 415, 422...) and every read: what a query or
# path parameter may be, the schema says whole.
[[operations]]
include-method = ["POST", "PUT", "PATCH"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# The real rows' ids, tried half the time for an id in a path, a filter or a body.
[dictionaries.ids]
values = {json.dumps(ids)}
[parameters]
"path.id" = {{ dictionary = "ids", probability = 0.5 }}
"query.compound" = {{ dictionary = "ids", probability = 0.5 }}
"query.building" = {{ dictionary = "ids", probability = 0.5 }}
"body.household" = {{ dictionary = "ids", probability = 0.5 }}
"body.building" = {{ dictionary = "ids", probability = 0.5 }}
"""


@pytest.fixture
def every_app(register, compound_a) -> list[int]:
    """One row of every scoped model in compound A (a schedule, a disinfection round, an
    order...), so that every list and detail answers with a body for the response checks to
    hold against the schema (a Schedule's time, a round's timing before it is done, an order's
    delivered_how before delivery). Their ids."""
    return [factory_for(model)(compound=compound_a).pk for model in scoped_models()]


@pytest.mark.parametrize("role", ["secretary_a", "volunteer"])
def test_the_api_answers_as_documented(
    live_server, client, register, every_app, role, request, tmp_path
):
    user = request.getfixturevalue(role)
    token = Token.objects.create(user=user).key
    ids = sorted(
        {
            *Building.objects.values_list("compound_id", flat=True),
            *Building.objects.values_list("pk", flat=True),
            *Household.objects.values_list("pk", flat=True),
            *Resident.objects.values_list("pk", flat=True),
            *every_app,
        }
    )
    # The schema as it is served (to signed-in users only), for the pass to read.
    served = client.get("/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=f"Token {token}")
    assert served.status_code == 200
    schema = tmp_path / "schema.json"
    schema.write_bytes(served.content)
    before = register_changes()
    config = tmp_path / "schemathesis.toml"
    examples = MAX_EXAMPLES if user.role == Role.SECRETARY else MAX_EXAMPLES_REFUSED
    config.write_text(schemathesis_config(token, ids, examples), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(schema),
        "--url",
        live_server.url,
        "--checks",
        "all",
    ]
    run = subprocess.run(  # noqa: S603 - our own interpreter, our own arguments
        command, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert run.returncode == 0, f"Schemathesis as {role}:\n{run.stdout}\n{run.stderr}"
    assert_register_rules_hold()
    changes = register_changes() - before
    if user.role == Role.SECRETARY:
        assert changes > 0, "the pass wrote nothing: the rules above were not put to the test"
    else:
        assert changes == 0, f"a {user.role} changed the register {changes} times"


# ----------------------------------------------------------------------------- what is documented


def test_every_operation_documents_its_errors(client, secretary_a):
    client.force_login(secretary_a)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["detail"] == {"type": "string"}
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert {"/api/compounds/", "/api/households/{id}/", "/api/residents/"} <= set(schema["paths"])
    for path, method, operation in operations:
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        expected = {"401"}
        if method in ("post", "put", "patch"):
            expected |= {"400", "403"}
            if "requestBody" in operation:  # an action without a body reads none: no 415
                expected |= {"415"}
        if "{id}" in path:
            expected |= {"400", "404"}
        if query:
            expected |= {"400"}
        if "page" in query:
            expected |= {"404"}  # a page past the last
        if path == "/api/overview/":
            expected |= {"404"}  # a place named by `level` and `id`, out of reach
        responses = operation["responses"]
        errors = {code for code in responses if code >= "400"}
        assert errors == expected, f"{method.upper()} {path}"
        for code in errors:
            content = responses[code]["content"]
            assert list(content) == ["application/json"], f"{method.upper()} {path} {code}"
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            examples = content["application/json"]["examples"]
            assert examples, f"{method.upper()} {path} {code} has no example"
            for example in examples.values():
                body = example["value"]
                assert isinstance(body.pop("detail", ""), str)
                assert all(isinstance(m, list) and m for m in body.values()), example
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        if method in ("post", "put", "patch") and "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"]


@pytest.fixture
def api(register, secretary_a):
    """api(user=None) -> an APIClient with the user's token (none: anonymous)."""

    def _api(user=secretary_a, token=None):
        client = APIClient()
        if user is not None:
            token = token or Token.objects.get_or_create(user=user)[0].key
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return _api


def test_errors_answer_as_documented(api, register, volunteer, compound_b):
    home = register[0][0]
    home_b = Household.objects.get(compound=compound_b)
    households = "/api/households/"

    def error(response, status, *fields):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json", response["Content-Type"]
        body = response.json()
        assert set(body) == {*fields, "detail"} or set(body) == set(fields), body
        return body

    body = error(api(None).get(households), 401)
    assert api(None).get(households)["WWW-Authenticate"] == "Token"
    error(api(None, token="0" * 40).get(households), 401)
    for bad in ("abc", "0", "-1", "1.5", "99999999999999999999", "%C2%B2"):
        error(api().get(f"{households}{bad}/"), 400, "id")
    body = error(api().get(f"{households}{home_b.pk}/"), 404)
    assert body == {"detail": str(exceptions.NotFound.default_detail)}
    error(api().get(households, {"page": "0"}), 400, "page")
    error(api().get(households, {"page": "2"}), 404)
    error(api().get(households, {"compound": "x"}), 400, "compound")
    error(api().get("/api/residents/", {"category": "nobody"}), 400, "category")
    error(api().get("/api/compounds/", {"q": "a\x00"}), 400, "q")

    new = {"building": home.building_id, "unit": "3", "room": "601"}
    error(api().post(households, new), 415)  # a form, not JSON
    error(api(volunteer).post(households, new, format="json"), 403)
    error(api(volunteer).patch(f"{households}{home.pk}/", new, format="json"), 403)
    error(api().post(households, [new], format="json"), 400, "non_field_errors")
    error(api().post(households, {**new, "room": 601}, format="json"), 400, "room")
    # Past its column once cleaned ("ß" is upper-cased to "SS"), or with a control character.
    error(api().post(households, {**new, "unit": "ß" * 9}, format="json"), 400, "unit")
    error(api().post(households, {**new, "unit": "3\x1b"}, format="json"), 400, "unit")
    error(api().post(households, {**new, "room": "ß" * 15}, format="json"), 400, "room")
    created = api().post(households, new, format="json")
    assert created.status_code == 201, created.content
    assert_register_rules_hold()


def test_the_schema_generates_without_a_warning(tmp_path):
    """drf-spectacular's warnings (two apps' choice sets under one enum name) fail
    `check --deploy` in CI: caught here, where the name of the clash is printed."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
