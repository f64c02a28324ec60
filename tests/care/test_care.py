"""Care: the daily welfare checks (the job, the command, two copies at once), recording a check
from the phone (outcomes, mood, needs, bad input, a check reassigned meanwhile), the alert after
two misses, served today, the pages, the API and permissions."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Alert
from care import rules, selectors, services
from care.models import CarePlan, Need, Outcome, WelfareCheck
from residents.registry import contacts_on
from tests.care.conftest import DAY, _check, _ledger, _volunteer
from tests.factories import CompoundFactory, HouseholdFactory, VulnerableTagFactory
from volunteers import registry
from volunteers import services as volunteer_services
from wuyi.lib.errors import Refused

# ----------------------------------------------------------------------------- generating


def test_the_job_gives_each_elder_living_alone_one_check_spread_over_volunteers(
    clock, elders, li, wang, compound_a
):
    _ledger(compound_a, category="chronic", name="慢病")  # not in the default plan
    left = _ledger(compound_a, name="已迁出")
    left.left_on = DAY
    left.save()
    result = services.checks_generate(day=DAY)
    assert (result.created, result.existed) == (4, 0)
    checks = WelfareCheck.objects.filter(date=DAY)
    assert {c.resident_id for c in checks} == {r.pk for r in elders}
    per_volunteer = sorted(checks.filter(volunteer=v).count() for v in (li, wang))
    assert per_volunteer == [2, 2]
    again = services.checks_generate(day=DAY)
    assert (again.created, again.existed) == (0, 4)
    assert again.line() == "created 0 checks, 4 already existed"


def test_a_household_goes_to_one_volunteer(clock, compound_a, li, wang):
    home = HouseholdFactory(compound=compound_a)
    one = _ledger(compound_a, household=home, name="老伴一")
    two = _ledger(compound_a, household=home, name="老伴二")
    services.checks_generate(day=DAY)
    assert _check(one).volunteer_id == _check(two).volunteer_id is not None


def test_a_resident_with_two_due_categories_gets_one_check(clock, compound_a, li, community_a):
    CarePlan.objects.create(community=community_a, category="disabled", every_days=1)
    CarePlan.objects.create(community=community_a, category="elderly_alone", every_days=1)
    resident = _ledger(compound_a)
    VulnerableTagFactory(compound=compound_a, resident=resident, category="disabled")
    assert services.checks_generate(day=DAY).created == 1


def test_the_community_plan_replaces_the_default(clock, compound_a, compound_b, li, community_a):
    services.care_plan_save(
        by=_secretary(community_a), community=community_a, category="chronic", every_days=1
    )
    chronic = _ledger(compound_a, category="chronic")
    elder_a = _ledger(compound_a)
    elder_b = _ledger(compound_b)  # community B keeps the default
    services.checks_generate(day=DAY)
    made = set(WelfareCheck.objects.values_list("resident_id", flat=True))
    assert made == {chronic.pk, elder_b.pk}
    assert elder_a.pk not in made
    # Every other day: due on even ordinals only.
    services.care_plan_save(
        by=_secretary(community_a), community=community_a, category="chronic", every_days=2
    )
    tomorrow = DAY + datetime.timedelta(days=1)
    made = services.checks_generate(day=tomorrow).created
    assert made == (1 if tomorrow.toordinal() % 2 == 0 else 0) + 1


def _secretary(community):
    from accounts.models import Role, User

    return User.objects.get(role=Role.SECRETARY, postings__community=community)


def test_care_plan_bad_input_is_refused(secretary_a, community_a, volunteer):
    for bad in (0, 31, "x", None):
        with pytest.raises(Refused):
            services.care_plan_save(
                by=secretary_a, community=community_a, category="chronic", every_days=bad
            )
    with pytest.raises(Refused):
        services.care_plan_save(
            by=secretary_a, community=community_a, category="nonsense", every_days=1
        )
    with pytest.raises(Refused):
        services.care_plan_save(
            by=volunteer, community=community_a, category="chronic", every_days=1
        )
    assert not CarePlan.objects.exists()


def test_a_compound_without_a_team_gets_unassigned_checks(clock, compound_a):
    _ledger(compound_a)
    result = services.checks_generate(day=DAY)
    assert (result.created, result.unassigned) == (1, 1)
    assert WelfareCheck.objects.get().volunteer is None


def test_a_past_or_far_day_is_refused(clock, elders):
    with pytest.raises(Refused):
        services.checks_generate(day=DAY - datetime.timedelta(days=1))
    with pytest.raises(Refused):
        services.checks_generate(day=DAY + datetime.timedelta(days=30))
    assert not WelfareCheck.objects.exists()


def test_the_command_says_what_it_did_and_refuses_a_bad_date(clock, elders, li):
    out = io.StringIO()
    call_command("generate_welfare_checks", stdout=out)
    assert out.getvalue().splitlines()[-1] == "created 4 checks, 0 already existed"
    out = io.StringIO()
    call_command("generate_welfare_checks", "--date", DAY.isoformat(), stdout=out)
    assert out.getvalue().splitlines()[-1] == "created 0 checks, 4 already existed"
    with pytest.raises(CommandError):
        call_command("generate_welfare_checks", "--date", "2026-13-45", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("generate_welfare_checks", "--date", "2020-01-01", stdout=io.StringIO())


def test_the_beat_task_is_scheduled_and_runs(clock, elders, li, settings):
    from care.tasks import generate_checks

    assert (
        settings.CELERY_BEAT_SCHEDULE["generate-welfare-checks"]["task"] == "care.generate_checks"
    )
    assert generate_checks() == "created 4 checks, 0 already existed"
    assert generate_checks(DAY.isoformat()) == "created 0 checks, 4 already existed"


# ----------------------------------------------------------------------------- recording


def test_the_volunteer_records_a_check_with_mood_and_a_need(made, elders, secretary_a):
    check = _check(elders[0])
    user = check.volunteer.user
    services.check_record(
        by=user,
        check=check,
        outcome=Outcome.PHONE,
        mood="low",
        note="说腿疼",
        need_kind="supplies",
        need_text="降压药一盒",
    )
    check.refresh_from_db()
    assert (check.outcome, check.mood, check.note, check.done_by) == (
        "phone",
        "low",
        "说腿疼",
        user,
    )
    need = Need.objects.get()
    assert (need.kind, need.text, need.resident_id) == ("supplies", "降压药一盒", elders[0].pk)
    # Recorded is final.
    with pytest.raises(Refused):
        services.check_record(by=user, check=check, outcome=Outcome.VISITED)
    # The secretary marks the need handled; a volunteer may not.
    with pytest.raises(PermissionDenied):
        services.need_handle(by=user, need=need)
    services.need_handle(by=secretary_a, need=need)
    need.refresh_from_db()
    assert need.status == "handled"


@pytest.mark.parametrize(
    "field,value",
    [
        ("note", "坏\x00字"),
        ("note", "长" * 100_000),
        ("need_text", "x\x07"),
        ("need_text", "y" * 501),
    ],
)
def test_bad_text_is_refused_and_nothing_written(made, elders, field, value):
    check = _check(elders[0])
    kwargs = {field: value}
    with pytest.raises(Refused):
        services.check_record(by=check.volunteer.user, check=check, outcome="phone", **kwargs)
    check.refresh_from_db()
    assert check.outcome == "open"
    assert not Need.objects.exists()


def test_a_bad_mood_or_outcome_is_refused(made, elders):
    check = _check(elders[0])
    with pytest.raises(Refused):
        services.check_record(by=check.volunteer.user, check=check, outcome="phone", mood="angry")
    with pytest.raises(Refused):
        services.check_record(by=check.volunteer.user, check=check, outcome="open")
    with pytest.raises(Refused):
        services.check_record(by=check.volunteer.user, check=check, outcome="done")
    check.refresh_from_db()
    assert check.outcome == "open"


def test_a_check_reassigned_meanwhile_is_refused_with_a_message(
    made, elders, li, wang, secretary_a
):
    check = _check(elders[0])
    before = check.volunteer
    other = wang if before == li else li
    services.check_reassign(by=secretary_a, check=check, volunteer=other)
    with pytest.raises(Refused) as refused:
        services.check_record(by=before.user, check=check, outcome="visited")
    assert str(refused.value.message) == str(rules.MSG_NOT_YOURS)
    check.refresh_from_db()
    assert check.outcome == "open"


def test_reassigning_to_a_volunteer_of_another_compound_is_refused(
    made, elders, secretary_a, community_a
):
    elsewhere = CompoundFactory(community=community_a)
    team = volunteer_services.team_save(
        by=secretary_a, community=community_a, name="别处", kind="youth", compounds=[elsewhere]
    )
    stranger = _volunteer(secretary_a, community_a, team, "外人", "13893100019")
    check = _check(elders[0])
    with pytest.raises(Refused):
        services.check_reassign(by=secretary_a, check=check, volunteer=stranger)


def test_only_todays_checks_are_recorded(made, elders, clock):
    check = _check(elders[0])
    clock.shift(datetime.timedelta(days=1))
    with pytest.raises(Refused):
        services.check_record(by=check.volunteer.user, check=check, outcome="phone")


def test_not_reached_twice_in_a_row_alerts_the_secretary_once(clock, elders, li, secretary_a):
    services.checks_generate(day=DAY)
    first = _check(elders[0])
    services.check_record(
        by=li.user if first.volunteer == li else first.volunteer.user,
        check=first,
        outcome="not_reached",
    )
    assert not Alert.objects.filter(user=secretary_a).exists()
    clock.shift(datetime.timedelta(days=1))
    tomorrow = DAY + datetime.timedelta(days=1)
    services.checks_generate(day=tomorrow)
    second = WelfareCheck.objects.get(resident=elders[0], date=tomorrow)
    services.check_record(by=second.volunteer.user, check=second, outcome="not_reached")
    alert = Alert.objects.get(user=secretary_a)
    assert elders[0].name in alert.text
    # Reached in the afternoon after all: no second alert.
    services.check_record(by=second.volunteer.user, check=second, outcome="visited")
    assert Alert.objects.filter(user=secretary_a).count() == 1


def test_the_graph_walk():
    for current, target in rules.CHECK.moves():
        assert target != Outcome.OPEN
        assert current in (Outcome.OPEN, Outcome.NOT_REACHED)
    assert (Outcome.PHONE, Outcome.VISITED) in set(rules.CHECK.refused())
    assert rules.CHECK.is_final(Outcome.VISITED)
    assert list(rules.NEED.moves()) == [("open", "handled")]


# ----------------------------------------------------------------------------- served, today


def test_served_today_in_constant_queries(made, elders, compound_a, secretary_a):
    check = _check(elders[0])
    services.check_record(by=check.volunteer.user, check=check, outcome="visited", mood="good")
    selectors.served_today(user=secretary_a, day=DAY)  # the user's places, read once
    with CaptureQueriesContext(connection) as few:
        lines = selectors.served_today(user=secretary_a, day=DAY, compound=compound_a)
    for i in range(20):
        _ledger(compound_a, name=f"新{i}")
    with CaptureQueriesContext(connection) as many:
        more = selectors.served_today(user=secretary_a, day=DAY, compound=compound_a)
    assert len(few) == len(many)
    assert len(more) == 24
    served = [line for line in lines if line.served]
    assert [line.resident_id for line in served] == [elders[0].pk]
    assert lines[-1].served and not lines[0].served  # the not-yet-served first
    assert contacts_on([elders[0].pk], DAY)[elders[0].pk][0].kind == "welfare"


def test_the_volunteers_today_list_shows_their_checks_only(made, elders, li, wang):
    mine = registry.tasks_for(li.user, DAY)
    keys = {t.key for t in mine if t.key.startswith("welfare:")}
    assert keys == {f"welfare:{c.pk}" for c in WelfareCheck.objects.filter(volunteer=li)}
    assert len(keys) == 2


def test_a_check_row_shows_the_name_the_door_and_whether_it_is_done(
    made, li, django_assert_num_queries
):
    from care.views import today_tasks

    checks = list(WelfareCheck.objects.filter(volunteer=li).select_related("resident", "household"))
    first = checks[0]
    services.check_record(by=li.user, check=first, outcome=Outcome.PHONE, mood="ok")
    today_tasks(li.user, DAY)  # the user's places, read once per request
    with django_assert_num_queries(1):
        rows = {t.key: t for t in today_tasks(li.user, DAY)}
    for check in checks:
        row = rows[f"welfare:{check.pk}"]
        assert (row.title, row.detail) == (check.resident.name, check.household.address)
        assert row.done == (check.pk == first.pk)
        assert row.url == reverse("care:check", args=[check.pk])


def test_the_volunteer_may_call_only_the_households_of_open_checks(made, elders, li):
    from residents.rules import may_call_resident

    mine = WelfareCheck.objects.filter(volunteer=li).select_related("resident")
    theirs = WelfareCheck.objects.exclude(volunteer=li).select_related("resident")
    assert all(may_call_resident(li.user, c.resident) for c in mine)
    assert not any(may_call_resident(li.user, c.resident) for c in theirs)


# ----------------------------------------------------------------------------- pages, API


def test_the_phone_page_records_a_check(made, elders, client):
    check = _check(elders[0])
    client.force_login(check.volunteer.user)
    page = client.get(reverse("care:check", args=[check.pk]))
    assert page.status_code == 200
    assert elders[0].name in page.content.decode()
    response = client.post(
        reverse("care:check", args=[check.pk]), {"outcome": "phone", "mood": "ok"}
    )
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.outcome == "phone"
    today = client.get(reverse("volunteers:today")).content.decode()
    assert elders[0].name in today


def test_the_page_shows_bad_input_and_writes_nothing(made, elders, client):
    check = _check(elders[0])
    client.force_login(check.volunteer.user)
    response = client.post(
        reverse("care:check", args=[check.pk]), {"outcome": "phone", "note": "a\x01b"}
    )
    assert response.status_code == 200
    check.refresh_from_db()
    assert check.outcome == "open"


def test_other_volunteers_and_outsiders_get_404(made, elders, li, wang, client, secretary_b):
    check = WelfareCheck.objects.filter(volunteer=li).first()
    client.force_login(wang.user)
    assert client.get(reverse("care:check", args=[check.pk])).status_code == 404
    response = client.post(reverse("care:check", args=[check.pk]), {"outcome": "phone"})
    assert response.status_code == 404
    client.force_login(secretary_b)
    assert client.get(reverse("care:check", args=[check.pk])).status_code == 404
    assert (
        client.post(reverse("care:check", args=[check.pk]), {"outcome": "phone"}).status_code == 404
    )
    check.refresh_from_db()
    assert check.outcome == "open"


def test_secretary_pages(made, elders, client, secretary_a, compound_a, li):
    client.force_login(secretary_a)
    day = client.get(reverse("care:compound", args=[compound_a.pk]))
    assert day.status_code == 200 and elders[1].name in day.content.decode()
    served = client.get(reverse("care:served", args=[compound_a.pk]))
    assert served.status_code == 200 and elders[2].name in served.content.decode()
    compound_page = client.get(reverse("compounds:detail", args=[compound_a.pk])).content.decode()
    assert reverse("care:served", args=[compound_a.pk]) in compound_page
    assert client.get(reverse("care:needs")).status_code == 200
    assert client.get(reverse("care:plans")).status_code == 200
    response = client.post(
        reverse("care:plans"), {"category": "chronic", "every_days": "3", "active": "on"}
    )
    assert response.status_code == 302
    assert CarePlan.objects.get().every_days == 3
    response = client.post(reverse("care:generate", args=[compound_a.pk]))
    assert response.status_code == 302


def test_a_volunteer_may_not_open_the_secretary_pages(made, client, li, compound_a):
    client.force_login(li.user)
    assert client.get(reverse("care:served", args=[compound_a.pk])).status_code == 403
    assert client.get(reverse("care:compound", args=[compound_a.pk])).status_code == 403
    assert client.get(reverse("care:needs")).status_code == 404
    assert client.get(reverse("care:plans")).status_code == 403
    assert client.post(reverse("care:generate", args=[compound_a.pk])).status_code == 403


def test_the_api_lists_and_records(made, elders, client, secretary_b):
    check = _check(elders[0])
    client.force_login(check.volunteer.user)
    listed = client.get("/api/care/checks/", {"date": DAY.isoformat(), "state": "open"})
    assert listed.status_code == 200
    url = f"/api/care/checks/{check.pk}/record/"
    bad = client.post(url, {"outcome": "phone", "note": "x\x00"}, content_type="application/json")
    assert bad.status_code == 400
    ok = client.post(url, {"outcome": "visited", "mood": "good"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["outcome"] == "visited"
    assert client.get("/api/care/checks/", {"date": "nonsense"}).status_code == 400
    client.force_login(secretary_b)
    assert client.get(f"/api/care/checks/{check.pk}/").status_code == 404
    assert (
        client.post(url, {"outcome": "phone"}, content_type="application/json").status_code == 404
    )
