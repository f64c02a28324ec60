"""Disinfection: areas and their schedule rules, the daily roster, check-in by QR, the
medical-waste log, the pages, the API and the cleaner's 今日任务."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compounds.models import Compound, ControlStatus
from sanitation import rules, services
from sanitation.models import Area, Round, WasteRecord
from tests.conftest import send_queued
from tests.factories import AreaFactory, BuildingFactory, CompoundFactory, RoundFactory
from tests.photos import png
from volunteers import registry
from volunteers import services as volunteer_services
from wuyi.lib.errors import Refused

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Tuesday morning in the outbreak: 10:00 in Lanzhou.
MORNING = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
DAY = MORNING.date()


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sealed(compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    return compound_a


@pytest.fixture
def cleaning_team(secretary_a, community_a, sealed):
    return volunteer_services.team_save(
        by=secretary_a,
        community=community_a,
        name="保洁消杀队",
        kind="cleaning",
        compounds=[sealed],
    )


def _cleaner(secretary, community, team, name, phone):
    volunteer, _token = volunteer_services.volunteer_create(
        by=secretary, community=community, name=name, phone=phone, teams=[team]
    )
    return volunteer


@pytest.fixture
def zhao(secretary_a, community_a, cleaning_team):
    return _cleaner(secretary_a, community_a, cleaning_team, "赵桂兰", "13893100001")


@pytest.fixture
def qian(secretary_a, community_a, cleaning_team):
    return _cleaner(secretary_a, community_a, cleaning_team, "钱建华", "13893100002")


@pytest.fixture
def lift(secretary_a, sealed):
    return services.area_save(
        by=secretary_a,
        compound=sealed,
        name="1号楼电梯",
        kind="lift",
        method="wipe",
        times="08:00 12:00 16:00 20:00",
        window_minutes=60,
    )


def at(hour, minute=0, day=DAY):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


# ----------------------------------------------------------------------------- schedule rules


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("08:00 12:00", ["08:00", "12:00"]),
        ("18:00,8:00、12：00", ["08:00", "12:00", "18:00"]),
        (["9:30", "09:30"], ["09:30"]),  # the same time twice is one round
    ],
)
def test_round_times_are_read_as_people_type_them(given, expected):
    assert rules.clean_times(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("", "至少"),
        ([], "至少"),
        (" ".join(f"{h:02d}:00" for h in range(24)) + " 00:30" * 76, "最多 12"),
        ([f"{n % 24:02d}:{n % 60:02d}" for n in range(100)], "最多 12"),
        ("25:00", "不是时间"),
        ("noon", "不是时间"),
    ],
)
def test_a_frequency_of_zero_or_a_hundred_a_day_is_refused(given, words):
    with pytest.raises(Refused) as refused:
        rules.clean_times(given)
    assert words in str(refused.value.message)
    assert refused.value.field == "times"


def test_area_save_names_every_bad_field(secretary_a, sealed, compound_b):
    other_building = compound_b.buildings.first()
    with pytest.raises(Refused) as refused:
        services.area_save(
            by=secretary_a,
            compound=sealed,
            name="",
            kind="spaceship",
            method="wipe",
            times="",
            window_minutes=5,
            building=other_building,
        )
    assert set(refused.value.errors) == {"name", "kind", "times", "window_minutes", "building"}


def test_an_area_name_is_unique_in_its_compound(secretary_a, sealed, lift):
    with pytest.raises(Refused) as refused:
        services.area_save(
            by=secretary_a,
            compound=sealed,
            name="1号楼电梯",
            kind="lift",
            method="wipe",
            times="9:00",
        )
    assert refused.value.field == "name"


def test_a_volunteer_may_not_change_areas(volunteer, sealed):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.area_save(
            by=volunteer, compound=sealed, name="x", kind="lift", method="wipe", times="9:00"
        )


def test_default_areas_come_from_the_buildings_once(secretary_a, sealed):
    BuildingFactory(compound=sealed, number="3", floor_count=18)
    created, existed = services.areas_create_defaults(by=secretary_a, compound=sealed)
    names = set(Area.objects.filter(compound=sealed).values_list("name", flat=True))
    # Buildings 1 and 2 are six floors (no lift); building 3 has eighteen.
    assert "3号楼电梯" in names and "1号楼电梯" not in names
    assert {"1号楼楼道", "2号楼大堂", "小区大门", "垃圾收集点", "医疗废物暂存桶"} <= names
    assert (created, existed) == (len(names), 0)
    assert services.areas_create_defaults(by=secretary_a, compound=sealed) == (0, created)


# ----------------------------------------------------------------------------- the roster


def test_the_roster_makes_each_round_once_and_rotates_the_cleaners(clock, sealed, lift, zhao, qian):
    clock.move_to(at(5))
    result = services.rosters_generate(day=DAY)
    assert (result.created, result.existed, result.past) == (4, 0, 0)
    rounds = list(Round.objects.filter(area=lift).order_by("due_at"))
    assert [timezone.localtime(r.due_at).strftime("%H:%M") for r in rounds] == [
        "08:00",
        "12:00",
        "16:00",
        "20:00",
    ]
    assert all(r.window_ends_at - r.due_at == datetime.timedelta(hours=1) for r in rounds)
    # Two cleaners, four rounds: two each, alternating.
    assignees = [r.assignee_id for r in rounds]
    assert sorted(assignees) == sorted([zhao.pk, qian.pk, zhao.pk, qian.pk])
    assert assignees[0] != assignees[1]
    # A second run, a run after downtime, "generate now": nothing new.
    again = services.rosters_generate(day=DAY)
    assert (again.created, again.existed) == (0, 4)
    # The next day starts one further along: the 08:00 round goes to the other cleaner.
    tomorrow = services.rosters_generate(day=DAY + datetime.timedelta(days=1))
    assert tomorrow.created == 4
    first_tomorrow = Round.objects.filter(area=lift, date=DAY + datetime.timedelta(days=1))
    assert first_tomorrow.order_by("due_at").first().assignee_id != assignees[0]


@pytest.mark.clock
def test_the_database_holds_each_round_once(sealed, lift):
    services.rosters_generate(day=timezone.localdate() + datetime.timedelta(days=1))
    existing = Round.objects.filter(area=lift).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(
            area=lift,
            compound=sealed,
            date=existing.date,
            due_at=existing.due_at,
            window_ends_at=existing.window_ends_at,
        )


def test_only_sealed_and_controlled_compounds_get_a_roster(clock, secretary_a, sealed, lift):
    calm = CompoundFactory(community=sealed.community, name="平安小区")
    AreaFactory(compound=calm)
    clock.move_to(at(5))
    assert services.rosters_generate(day=DAY).created == 4
    assert not Round.objects.filter(compound=calm).exists()
    # The secretary's "generate now" for that one compound, whatever its status.
    assert services.rosters_generate(day=DAY, compounds=[calm.pk], any_status=True).created == 2


def test_rounds_whose_window_has_passed_are_not_created(clock, sealed, lift):
    clock.move_to(at(13, 30))  # sealed at lunchtime: the 08:00 and 12:00 rounds are over
    result = services.rosters_generate(day=DAY)
    assert (result.created, result.past) == (2, 2)


@pytest.mark.parametrize(("days", "words"), [(-1, "2026-11-30"), (8, "7 天")])
def test_a_roster_for_a_past_or_far_day_is_refused(clock, sealed, lift, days, words):
    with pytest.raises(Refused) as refused:
        services.rosters_generate(day=DAY + datetime.timedelta(days=days))
    assert words in str(refused.value.message)
    assert not Round.objects.exists()


def test_generate_rosters_command_says_what_it_did(clock, sealed, lift):
    clock.move_to(at(5))
    out = io.StringIO()
    call_command("generate_rosters", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "created 4 rounds, 0 already existed"
    out = io.StringIO()
    call_command("generate_rosters", "--date", DAY.isoformat(), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "created 0 rounds, 4 already existed"
    with pytest.raises(CommandError, match="2026-11-01"):
        call_command("generate_rosters", "--date", "2026-11-01")
    with pytest.raises(CommandError):
        call_command("generate_rosters", "--date", "someday")


def test_catch_up_makes_today_for_compounds_that_have_none(clock, secretary_a, sealed, lift):
    clock.move_to(at(5))
    services.rosters_generate(day=DAY)
    late = CompoundFactory(community=sealed.community, name="云祥小区")
    AreaFactory(compound=late)
    assert services.rosters_catch_up().created == 0  # not sealed: nothing to do
    Compound.objects.filter(pk=late.pk).update(status=ControlStatus.CONTROLLED)
    clock.move_to(at(11))  # controlled since the morning: the 08:00 round is over
    result = services.rosters_catch_up()
    assert (result.created, result.past) == (1, 1)
    assert services.rosters_catch_up().created == 0


def test_the_celery_task_makes_the_same_roster(clock, sealed, lift):
    from sanitation import tasks

    clock.move_to(at(5))
    assert tasks.generate_rosters.apply().get() == "created 4 rounds, 0 already existed"
    assert tasks.generate_rosters.apply().get() == "created 0 rounds, 4 already existed"


# ----------------------------------------------------------------------------- rounds


def test_a_secretary_adds_and_reassigns_rounds(clock, secretary_a, sealed, lift, zhao, qian):
    extra = services.round_add(by=secretary_a, area=lift, day=DAY, at="14:30", assignee=zhao)
    assert timezone.localtime(extra.due_at).strftime("%H:%M") == "14:30"
    with pytest.raises(Refused) as refused:
        services.round_add(by=secretary_a, area=lift, day=DAY, at="14:30")
    assert refused.value.field == "at"
    with pytest.raises(Refused):
        services.round_add(
            by=secretary_a, area=lift, day=DAY - datetime.timedelta(days=1), at="9:00"
        )
    services.round_reassign(by=secretary_a, round=extra, assignee=qian)
    assert Round.objects.get(pk=extra.pk).assignee == qian


def test_a_round_goes_only_to_someone_who_serves_the_compound(
    clock, secretary_a, secretary_b, community_b, compound_b, lift
):
    outsider_team = volunteer_services.team_save(
        by=secretary_b, community=community_b, name="队", kind="cleaning", compounds=[compound_b]
    )
    outsider = _cleaner(secretary_b, community_b, outsider_team, "孙", "13893100009")
    with pytest.raises(Refused, match="孙"):
        services.round_add(by=secretary_a, area=lift, day=DAY, at="15:00", assignee=outsider)


@pytest.mark.parametrize(
    ("now", "timing"),
    [(at(12, 20), "on_time"), (at(14, 5), "late"), (at(11, 30), "early")],
)
def test_done_outside_the_window_is_recorded_not_refused(clock, sealed, lift, zhao, now, timing):
    r = RoundFactory(area=lift, at=datetime.time(12), assignee=zhao)
    clock.move_to(now)
    done = services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(lift))
    assert done.done_at == now
    assert done.done_by == zhao.user
    assert done.timing == timing


def test_a_second_check_in_changes_nothing(clock, sealed, lift, zhao, qian):
    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    first = services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(lift), note="第一次")
    clock.shift(datetime.timedelta(minutes=10))
    # A colleague standing in taps too: the first record stays.
    second = services.round_mark_done(by=qian.user, round=r, qr=rules.qr_token(lift), note="第二次")
    assert (second.done_at, second.done_by, second.note) == (first.done_at, zhao.user, "第一次")


def test_someone_who_does_not_serve_the_compound_may_not_mark_it(
    clock, lift, secretary_b, community_b, compound_b
):
    from django.core.exceptions import PermissionDenied

    team = volunteer_services.team_save(
        by=secretary_b, community=community_b, name="队", kind="cleaning", compounds=[compound_b]
    )
    outsider = _cleaner(secretary_b, community_b, team, "孙", "13893100009")
    r = RoundFactory(area=lift, at=datetime.time(10))
    with pytest.raises(PermissionDenied):
        services.round_mark_done(by=outsider.user, round=r, qr=rules.qr_token(lift))


# ----------------------------------------------------------------------------- QR and the scan page


def test_the_qr_sheet_has_one_page_per_area_with_its_code(login, secretary_a, sealed, lift):
    services.areas_create_defaults(by=secretary_a, compound=sealed)
    response = login(secretary_a).get(reverse("sanitation:qr", args=[sealed.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="qr-sheet"') == Area.objects.filter(compound=sealed).count()
    assert "1号楼电梯" in body and "<svg" in body
    one = login(secretary_a).get(reverse("sanitation:qr", args=[sealed.pk]) + f"?area={lift.pk}")
    assert one.content.decode().count('class="qr-sheet"') == 1


def test_the_code_opens_the_current_round_and_done_records_it(
    clock, login, sealed, lift, zhao, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    clock.move_to(at(5))
    services.rosters_generate(day=DAY)
    clock.move_to(at(12, 10))
    client = login(zhao.user)
    page = client.get(reverse("sanitation:scan", args=[rules.qr_token(lift)]))
    current = page.context["current"]
    assert timezone.localtime(current.due_at).hour == 12
    # The name the phone sends is not believed: the content says PNG (stored as a JPEG).
    photo = SimpleUploadedFile("lift.html", png(), content_type="text/html")
    response = client.post(
        reverse("sanitation:done", args=[current.pk]),
        {"photo": photo, "note": "已喷洒", "qr": rules.qr_token(lift)},
    )
    assert response.status_code == 302
    current.refresh_from_db()
    assert current.done_by == zhao.user and current.timing == "on_time" and current.photo
    # The photo is served to those who see the round, and to nobody else.
    served = client.get(reverse("sanitation:photo", args=[current.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert "no-store" in served["Cache-Control"]
    assert current.photo.name.endswith(f"round-{current.pk}.jpg")
    # After it, the page offers the next open round.
    assert (
        timezone.localtime(
            client.get(reverse("sanitation:scan", args=[rules.qr_token(lift)]))
            .context["current"]
            .due_at
        ).hour
        == 8
    )


def test_the_photo_is_stored_without_gps_and_a_bomb_is_refused(
    clock, login, sealed, lift, zhao, settings, tmp_path
):
    """Issue 17, item 10: what the cleaner's phone wrote into the photo (where, which phone)
    is not stored; a 30,000 × 30,000 PNG is refused, and so is a body too long, unread."""
    from tests.photos import bomb_png, has_gps, jpeg
    from wuyi.lib import photos

    settings.MEDIA_ROOT = tmp_path
    first = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    client = login(zhao.user)
    photo = SimpleUploadedFile("IMG_0001.jpg", jpeg(), content_type="image/jpeg")
    assert (
        client.post(
            reverse("sanitation:done", args=[first.pk]),
            {"photo": photo, "qr": rules.qr_token(lift)},
        ).status_code
        == 302
    )
    first.refresh_from_db()
    assert first.done_at is not None
    served = client.get(reverse("sanitation:photo", args=[first.pk]))
    data = b"".join(served.streaming_content)
    assert served["Content-Type"] == "image/jpeg" and data[:3] == b"\xff\xd8\xff"
    assert not has_gps(data)

    second = RoundFactory(area=lift, at=datetime.time(11), assignee=zhao)
    bomb = SimpleUploadedFile("lift.png", bomb_png(), content_type="image/png")
    response = client.post(
        reverse("sanitation:done", args=[second.pk]),
        {"photo": bomb, "qr": rules.qr_token(lift)},
        follow=True,
    )
    assert "像素" in response.content.decode()
    second.refresh_from_db()
    assert second.done_at is None and not second.photo

    # A body longer than a photo's is refused from its Content-Length, before it is read.
    response = client.post(
        reverse("sanitation:done", args=[second.pk]),
        {"note": "x"},
        CONTENT_LENGTH=str(photos.MAX_BODY_BYTES + 1),
    )
    assert response.status_code == 413 and "MB" in response.content.decode()
    second.refresh_from_db()
    assert second.done_at is None


def test_a_round_open_across_midnight_is_the_one_scanned_after_midnight(
    clock, login, secretary_a, sealed, zhao
):
    """The 23:30 round with an hour's window is still open at 00:10 Beijing time (16:10 UTC):
    the code opens it, the cleaner's 今日任务 lists it, and done then is on time."""
    night = services.area_save(
        by=secretary_a,
        compound=sealed,
        name="垃圾站",
        kind="garbage",
        method="spray",
        times="23:30",
        window_minutes=60,
    )
    clock.move_to(at(5))
    services.rosters_generate(day=DAY)
    [late] = Round.objects.filter(area=night)
    after_midnight = DAY + datetime.timedelta(days=1)
    clock.move_to(at(0, 10, day=after_midnight))
    assert services.current_round(night) == late
    client = login(zhao.user)
    page = client.get(reverse("sanitation:scan", args=[rules.qr_token(night)]))
    assert page.context["current"] == late and page.context["rounds"] == [late]
    tasks = [t.key for t in registry.tasks_for(zhao.user, after_midnight)]
    assert f"round:{late.pk}" in tasks
    assert "垃圾站" in client.get(reverse("volunteers:today")).content.decode()
    client.post(reverse("sanitation:done", args=[late.pk]), {"qr": rules.qr_token(night)})
    late.refresh_from_db()
    assert late.done_by == zhao.user and late.timing == "on_time"
    # Two days on, it is history: the code offers nothing from the day before yesterday.
    clock.move_to(at(0, 10, day=after_midnight + datetime.timedelta(days=1)))
    assert services.current_round(night) is None


def test_catch_up_waits_for_the_roster_time_after_midnight(clock, sealed, lift):
    """At 00:07 no compound has today's rounds yet: that is not a missed roster, so the hourly
    catch-up leaves them to the roster at 05:00 (then makes up a missed one)."""
    tomorrow = DAY + datetime.timedelta(days=1)
    clock.move_to(at(0, 7, day=tomorrow))
    assert services.rosters_catch_up().created == 0
    assert not Round.objects.filter(date=tomorrow).exists()
    clock.move_to(at(5, 7, day=tomorrow))  # the 05:00 run did not happen (a worker down)
    assert services.rosters_catch_up().created == 4


def test_a_file_that_is_not_a_photo_is_refused(clock, login, sealed, lift, zhao):
    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    fake = SimpleUploadedFile("lift.jpg", b"#!/bin/sh\nrm -rf /\n", content_type="image/jpeg")
    response = login(zhao.user).post(
        reverse("sanitation:done", args=[r.pk]), {"photo": fake, "qr": rules.qr_token(lift)}
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.done_at is None


def test_a_code_of_another_compound_is_a_404(
    clock, login, lift, secretary_b, community_b, compound_b
):
    team = volunteer_services.team_save(
        by=secretary_b, community=community_b, name="队", kind="cleaning", compounds=[compound_b]
    )
    outsider = _cleaner(secretary_b, community_b, team, "孙", "13893100009")
    r = RoundFactory(area=lift, at=datetime.time(10))
    client = login(outsider.user)
    assert client.get(reverse("sanitation:scan", args=[rules.qr_token(lift)])).status_code == 404
    assert (
        client.post(
            reverse("sanitation:done", args=[r.pk]), {"qr": rules.qr_token(lift)}
        ).status_code
        == 404
    )
    assert client.get(reverse("sanitation:photo", args=[r.pk])).status_code == 404
    r.refresh_from_db()
    assert r.done_at is None


# ----------------------------------------------------------------------------- proof of presence
# Issue 17, item 6: a check-in proves the cleaner stood by the area's code. The code carries a
# signed token per area (the secretary replaces it, voiding the printed sheet); marking a round
# done needs it, or the secretary's override with a reason; rounds of another day are refused.


def _qr_url(area) -> str:
    return reverse("sanitation:scan", args=[rules.qr_token(area)])


def test_done_needs_the_code_of_the_rounds_area(clock, login, sealed, lift, zhao):
    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    client = login(zhao.user)
    # Marked from anywhere, without the code: refused, on the page and in the API.
    page = client.post(reverse("sanitation:done", args=[r.pk]), {"note": "done"}, follow=True)
    assert "扫描" in page.content.decode()
    api = client.post(reverse("round-done", args=[r.pk]), {}, content_type="application/json")
    assert api.status_code == 400 and "qr" in api.json()
    r.refresh_from_db()
    assert r.done_at is None
    # Another area's code, or a made-up one, is no proof either.
    gate = AreaFactory(compound=sealed, name="小区大门")
    for wrong in (rules.qr_token(gate), f"{lift.pk}.abcdefghijkl:forged", str(lift.pk)):
        refused = client.post(
            reverse("round-done", args=[r.pk]), {"qr": wrong}, content_type="application/json"
        )
        assert refused.status_code == 400 and "qr" in refused.json(), wrong
    r.refresh_from_db()
    assert r.done_at is None
    # The code next to the lift: its page offers the round, and done is recorded as scanned.
    scan = client.get(_qr_url(lift))
    assert scan.status_code == 200 and scan.context["current"] == r
    assert (
        client.post(
            reverse("sanitation:done", args=[r.pk]), {"qr": rules.qr_token(lift)}
        ).status_code
        == 302
    )
    r.refresh_from_db()
    assert r.done_by == zhao.user and r.check_in == "qr" and not r.override_reason


def test_the_api_takes_the_scanned_address_or_its_token(clock, login, sealed, lift, zhao):
    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    scanned = "https://wuyi.example.gov.cn" + _qr_url(lift)
    done = login(zhao.user).post(
        reverse("round-done", args=[r.pk]), {"qr": scanned}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["check_in"] == "qr"


@pytest.mark.parametrize("days", [7, 1, -1])
def test_a_round_of_another_day_is_refused(clock, login, secretary_a, sealed, lift, zhao, days):
    other_day = DAY + datetime.timedelta(days=days)
    r = RoundFactory(area=lift, date=other_day, at=datetime.time(10), assignee=zhao)
    client = login(zhao.user)
    response = client.post(
        reverse("round-done", args=[r.pk]),
        {"qr": rules.qr_token(lift)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert other_day.strftime("%m-%d") in response.json()["detail"]
    # Not even the secretary's override moves a round of another day.
    with pytest.raises(Refused):
        services.round_mark_done(by=secretary_a, round=r, override_reason="补录")
    r.refresh_from_db()
    assert r.done_at is None


def test_a_round_whose_window_runs_past_midnight_is_done_after_it(clock, login, sealed, zhao):
    night = AreaFactory(compound=sealed, name="夜间垃圾点", times=["23:30"], window_minutes=90)
    r = RoundFactory(area=night, at=datetime.time(23, 30), assignee=zhao)
    clock.move_to(at(0, 20, day=DAY + datetime.timedelta(days=1)))
    done = services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(night))
    assert done.timing == "on_time"


def test_the_secretary_marks_done_without_the_code_with_a_reason(
    clock, login, secretary_a, sealed, lift, zhao
):
    from django.core.exceptions import PermissionDenied

    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    # A cleaner may not: the override is the secretary's.
    with pytest.raises(PermissionDenied):
        services.round_mark_done(by=zhao.user, round=r, override_reason="二维码被撕掉了")
    client = login(secretary_a)
    # A reason is needed.
    no_reason = client.post(
        reverse("round-done", args=[r.pk]),
        {"override_reason": " "},
        content_type="application/json",
    )
    assert no_reason.status_code == 400
    page = client.get(reverse("sanitation:round", args=[r.pk]))
    assert 'name="override_reason"' in page.content.decode()
    client.post(
        reverse("sanitation:done", args=[r.pk]),
        {"override_reason": "二维码被撕掉了，电话核实已消杀", "next": "round"},
    )
    r.refresh_from_db()
    assert r.done_by == secretary_a and r.check_in == "override"
    assert r.override_reason == "二维码被撕掉了，电话核实已消杀"
    detail = client.get(reverse("sanitation:round", args=[r.pk])).content.decode()
    assert "二维码被撕掉了" in detail


def test_replacing_the_code_voids_the_printed_sheet(clock, login, secretary_a, sealed, lift, zhao):
    r = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    printed = rules.qr_token(lift)
    sheet = login(secretary_a).get(reverse("sanitation:qr", args=[sealed.pk])).content.decode()
    assert "作废" in sheet  # the page says what replacing does
    # A cleaner may not replace it.
    cleaner = login(zhao.user)
    assert (
        cleaner.post(
            reverse("sanitation:qr_rotate", args=[sealed.pk]), {"area": lift.pk}
        ).status_code
        == 403
    )
    secretary = login(secretary_a)
    secretary.post(reverse("sanitation:qr_rotate", args=[sealed.pk]), {"area": lift.pk})
    lift.refresh_from_db()
    assert rules.qr_token(lift) != printed
    cleaner = login(zhao.user)
    old = cleaner.get(reverse("sanitation:scan", args=[printed]))
    assert old.status_code == 410 and "作废" in old.content.decode()
    with pytest.raises(Refused) as refused:
        services.round_mark_done(by=zhao.user, round=r, qr=printed)
    assert refused.value.field == "qr"
    done = services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(lift))
    assert done.check_in == "qr"
    # Replacing every code of the compound at once.
    before = rules.qr_token(lift)
    secretary = login(secretary_a)
    secretary.post(reverse("sanitation:qr_rotate", args=[sealed.pk]))
    lift.refresh_from_db()
    assert rules.qr_token(lift) != before


def test_an_old_qr_address_answers_a_refusal_page(clock, login, sealed, lift, zhao):
    response = login(zhao.user).get(f"/sanitation/a/{lift.pk}/")
    assert response.status_code == 410
    body = response.content.decode()
    assert "二维码" in body and lift.name not in body
    assert login(zhao.user).get("/sanitation/a/999999/").status_code == 410


def test_the_qr_sheet_carries_the_token_not_the_id(login, secretary_a, sealed, lift):
    import segno

    response = login(secretary_a).get(
        reverse("sanitation:qr", args=[sealed.pk]) + f"?area={lift.pk}"
    )
    body = response.content.decode()
    expected = segno.make("http://testserver" + _qr_url(lift), error="m").svg_inline(
        scale=6, border=2, omitsize=True
    )
    assert expected in body
    old = segno.make(f"http://testserver/sanitation/a/{lift.pk}/", error="m").svg_inline(
        scale=6, border=2, omitsize=True
    )
    assert old not in body


# ----------------------------------------------------------------------------- 今日任务


def test_the_cleaners_rounds_are_in_today_done_by_scanning_there(clock, login, sealed, lift, zhao):
    clock.move_to(at(5))
    services.rosters_generate(day=DAY)
    clock.move_to(at(8, 15))
    mine = [t for t in registry.tasks_for(zhao.user, DAY) if t.key.startswith("round:")]
    assert len(mine) == 4 and all(t.title == "1号楼电梯" for t in mine)
    client = login(zhao.user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("volunteers:today"))
    assert "1号楼电梯" in page.content.decode()
    assert len(queries) < 30
    # No one-tap done from the list (issue 17): the row opens the round, which says to scan.
    first = min(mine, key=lambda t: t.at)
    assert not first.done_url
    round_page = client.get(first.url).content.decode()
    assert "扫描" in round_page and 'name="override_reason"' not in round_page
    r = Round.objects.get(pk=int(first.key.split(":")[1]))
    services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(lift))
    done = [t for t in registry.tasks_for(zhao.user, DAY) if t.key == first.key]
    assert done[0].done


def test_today_costs_the_same_queries_for_many_rounds(clock, login, sealed, zhao):
    client = login(zhao.user)

    def count():
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("volunteers:today"))
        return len(queries)

    area = AreaFactory(compound=sealed)
    RoundFactory(area=area, assignee=zhao, at=datetime.time(9))
    few = count()
    for hour in range(10, 22):
        RoundFactory(area=area, assignee=zhao, at=datetime.time(hour))
    assert count() == few


# ----------------------------------------------------------------------------- pages


def test_the_secretary_sees_progress_move(clock, login, secretary_a, sealed, lift, zhao):
    clock.move_to(at(5))
    services.rosters_generate(day=DAY)
    clock.move_to(at(8, 30))
    client = login(secretary_a)
    page = client.get(reverse("sanitation:compound", args=[sealed.pk]))
    assert page.context["progress"].done == 0 and page.context["progress"].total == 4
    r = Round.objects.filter(area=lift).order_by("due_at").first()
    services.round_mark_done(by=zhao.user, round=r, qr=rules.qr_token(lift))
    page = client.get(reverse("sanitation:compound", args=[sealed.pk]))
    assert page.context["progress"].done == 1
    body = page.content.decode()
    assert "100%" in body and "已完成 1 / 已到时 1，全天 4" in body
    overview = client.get(reverse("sanitation:overview"))
    assert overview.context["page"].object_list[0].done == 1


def test_the_district_reads_compounds_and_communities_worst_first(
    clock, login, district_staff, secretary_a, sealed, community_b, compound_b
):
    good = AreaFactory(compound=sealed)
    bad = AreaFactory(compound=compound_b)
    for area in (good, bad):
        RoundFactory(area=area, at=datetime.time(8))
        RoundFactory(area=area, at=datetime.time(9))
    for r in Round.objects.filter(area=good):
        services.round_mark_done(by=secretary_a, round=r, qr=rules.qr_token(good))
    page = login(district_staff).get(reverse("sanitation:overview"))
    compounds = [p.place for p in page.context["page"].object_list]
    assert compounds == [compound_b, sealed]
    communities = [p.place for p in page.context["communities"]]
    assert communities == [community_b, sealed.community]
    assert page.context["page"].object_list[0].overdue == 2


def test_the_week_shows_a_rate_per_day(clock, login, secretary_a, sealed, lift):
    yesterday = DAY - datetime.timedelta(days=1)
    r = RoundFactory(area=lift, date=yesterday, at=datetime.time(8))
    RoundFactory(area=lift, date=yesterday, at=datetime.time(12))
    # Done yesterday (a round is marked done on its own day only).
    clock.move_to(r.due_at + datetime.timedelta(minutes=10))
    services.round_mark_done(by=secretary_a, round=r, qr=rules.qr_token(lift))
    clock.move_to(MORNING)
    page = login(secretary_a).get(reverse("sanitation:week"))
    row = page.context["page"].object_list[0]
    assert row.days[5].percent == 50 and row.days[6] is None
    assert row.week.total == 2


def test_a_cleaner_does_not_read_the_rates(login, zhao):
    assert login(zhao.user).get(reverse("sanitation:overview")).status_code == 403


def test_the_compound_page_shows_disinfection(clock, login, secretary_a, sealed, lift):
    RoundFactory(area=lift, at=datetime.time(8))
    body = login(secretary_a).get(reverse("compounds:detail", args=[sealed.pk])).content.decode()
    assert reverse("sanitation:compound", args=[sealed.pk]) in body


def test_the_area_form_shows_the_rule_in_words(login, secretary_a, sealed):
    response = login(secretary_a).post(
        reverse("sanitation:area_add", args=[sealed.pk]),
        {"name": "大门", "kind": "gate", "method": "spray", "times": "", "window_minutes": 60},
    )
    assert response.status_code == 400
    response = login(secretary_a).post(
        reverse("sanitation:area_add", args=[sealed.pk]),
        {
            "name": "大门",
            "kind": "gate",
            "method": "spray",
            "times": "7:00 12:00",
            "window_minutes": 30,
        },
    )
    assert response.status_code == 302
    assert Area.objects.get(compound=sealed, name="大门").times == ["07:00", "12:00"]


def test_generate_now_and_add_a_round_from_the_page(clock, login, secretary_a, sealed, lift):
    client = login(secretary_a)
    client.post(reverse("sanitation:generate", args=[sealed.pk]), {"date": DAY.isoformat()})
    assert Round.objects.filter(area=lift).count() == 3  # 08:00 is over at 10:00
    client.post(
        reverse("sanitation:round_add", args=[sealed.pk]),
        {"date": DAY.isoformat(), "area": lift.pk, "at": "10:30"},
    )
    assert Round.objects.filter(area=lift).count() == 4


# ----------------------------------------------------------------------------- medical waste


@pytest.fixture
def waste_bin(secretary_a, sealed):
    return services.area_save(
        by=secretary_a,
        compound=sealed,
        name="医疗废物暂存桶",
        kind="medical_waste",
        method="spray",
        times="9:30 17:30",
    )


def test_cleared_means_handed_over_to_someone(clock, secretary_a, waste_bin):
    with pytest.raises(Refused) as refused:
        services.waste_record_save(by=secretary_a, area=waste_bin, day=DAY, bags=3, cleared=True)
    assert refused.value.field == "handed_to"
    record = services.waste_record_save(
        by=secretary_a,
        area=waste_bin,
        day=DAY,
        bags=3,
        cleared=True,
        handed_to="医废处置中心 马师傅",
        handed_at=at(9, 50),
    )
    assert record.cleared and record.collected_by == secretary_a
    # One record per bin and day: saving again changes it.
    services.waste_record_save(by=secretary_a, area=waste_bin, day=DAY, bags=4)
    assert WasteRecord.objects.get().bags == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"bags": -1}, "bags"), ({"bags": 10_000}, "bags"), ({"bags": "许多"}, "bags")],
)
def test_bad_waste_counts_are_refused(clock, secretary_a, waste_bin, kwargs, field):
    with pytest.raises(Refused) as refused:
        services.waste_record_save(by=secretary_a, area=waste_bin, day=DAY, **kwargs)
    assert refused.value.field == field


def test_only_bins_have_a_waste_log_and_not_for_tomorrow(clock, secretary_a, lift, waste_bin):
    with pytest.raises(Refused):
        services.waste_record_save(by=secretary_a, area=lift, day=DAY, bags=1)
    with pytest.raises(Refused):
        services.waste_record_save(
            by=secretary_a, area=waste_bin, day=DAY + datetime.timedelta(days=1), bags=1
        )


def test_the_days_page_shows_bins_not_cleared_first(clock, login, secretary_a, sealed, waste_bin):
    second = services.area_save(
        by=secretary_a,
        compound=sealed,
        name="医疗废物桶二",
        kind="medical_waste",
        method="spray",
        times="9:30",
    )
    services.waste_record_save(
        by=secretary_a,
        area=second,
        day=DAY,
        bags=1,
        cleared=True,
        handed_to="马师傅",
        handed_at=at(9),
    )
    page = login(secretary_a).get(reverse("sanitation:waste"))
    assert page.context["not_cleared"] == 1
    assert [b.name for b, _record in page.context["rows"]] == ["医疗废物暂存桶", "医疗废物桶二"]
    form = login(secretary_a).post(
        reverse("sanitation:waste_edit", args=[waste_bin.pk]) + f"?date={DAY}",
        {"bags": 2, "handed_to": "马师傅", "handed_at": "09:40", "cleared": "on"},
    )
    assert form.status_code == 302
    assert login(secretary_a).get(reverse("sanitation:waste")).context["not_cleared"] == 0


# ----------------------------------------------------------------------------- API


def test_the_api_lists_rounds_in_reach_and_checks_in(
    clock, login, sealed, lift, zhao, secretary_b, compound_b
):
    mine = RoundFactory(area=lift, at=datetime.time(10), assignee=zhao)
    RoundFactory(compound=compound_b)
    client = login(zhao.user)
    listed = client.get(reverse("round-list")).json()
    assert [r["id"] for r in listed["results"]] == [mine.pk]
    scanned = {"qr": rules.qr_token(lift)}
    done = client.post(
        reverse("round-done", args=[mine.pk]),
        {"note": "完成", **scanned},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["timing"] == "on_time"
    again = client.post(
        reverse("round-done", args=[mine.pk]), scanned, content_type="application/json"
    )
    assert again.json()["done_at"] == done.json()["done_at"]
    other = Round.objects.exclude(pk=mine.pk).get()
    assert (
        client.post(
            reverse("round-done", args=[other.pk]), {}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get(reverse("round-list") + "?state=late").status_code == 400


def test_the_api_writes_areas_through_the_rules(login, secretary_a, sealed, zhao):
    client = login(secretary_a)
    body = {"compound": sealed.pk, "kind": "gate", "name": "北门", "method": "spray", "times": []}
    refused = client.post(reverse("area-list"), body, content_type="application/json")
    assert refused.status_code == 400 and "times" in refused.json()
    body["times"] = [f"{h:02d}:00" for h in range(24)] * 4
    assert (
        client.post(reverse("area-list"), body, content_type="application/json").status_code == 400
    )
    body["times"] = ["07:00", "19:00"]
    created = client.post(reverse("area-list"), body, content_type="application/json")
    assert created.status_code == 201 and created.json()["times"] == ["07:00", "19:00"]
    # A cleaner reads but does not write.
    assert (
        login(zhao.user)
        .post(reverse("area-list"), body, content_type="application/json")
        .status_code
        == 403
    )


def test_the_api_waste_log_is_an_upsert(clock, login, secretary_a, waste_bin):
    client = login(secretary_a)
    body = {"area": waste_bin.pk, "date": DAY.isoformat(), "bags": 2}
    assert (
        client.post(reverse("wasterecord-list"), body, content_type="application/json").status_code
        == 201
    )
    body["bags"] = 3
    client.post(reverse("wasterecord-list"), body, content_type="application/json")
    assert WasteRecord.objects.get().bags == 3
    body.update(cleared=True)
    refused = client.post(reverse("wasterecord-list"), body, content_type="application/json")
    assert refused.status_code == 400 and "handed_to" in refused.json()


# ----------------------------------------------------------------------------- overdue reminders


@pytest.fixture
def sms(sms_outbox):
    """The locmem outbox, the reminders' texts approved."""
    from messaging.models import SmsTemplate
    from sanitation import notify

    SmsTemplate.objects.filter(name__in=[notify.OVERDUE, notify.ESCALATED]).update(
        code="SMS_1", approved=True
    )
    return sms_outbox


def test_an_overdue_round_reminds_the_cleaner_once_then_the_secretary_once(
    clock, sms, secretary_a, sealed, lift, zhao
):
    from messaging.models import Message

    secretary_a.phone = "13893100099"
    secretary_a.save()
    r = RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    done = RoundFactory(area=lift, at=datetime.time(7), assignee=zhao)
    services.round_mark_done(by=zhao.user, round=done, qr=rules.qr_token(lift))

    clock.move_to(at(8, 59))  # still in its window
    assert services.rounds_remind_overdue().cleaners == 0
    clock.move_to(at(9, 5))
    first = services.rounds_remind_overdue()
    assert (first.cleaners, first.secretaries) == (1, 0)
    send_queued()
    assert [m.phone for m in sms.sent] == ["13893100001"]
    assert "1号楼电梯" in sms.sent[0].text and "08:00" in sms.sent[0].text
    # Every five minutes the sweep runs again: nothing more for that round.
    for minutes in (10, 15, 30):
        clock.move_to(at(9, minutes))
        assert services.rounds_remind_overdue().cleaners == 0
    # An hour after the cleaner's reminder it is still open: the secretary hears, once.
    clock.move_to(at(10, 6))
    later = services.rounds_remind_overdue()
    assert (later.cleaners, later.secretaries, later.rounds_escalated) == (0, 1, 1)
    clock.move_to(at(10, 11))
    assert services.rounds_remind_overdue().secretaries == 0
    send_queued()
    assert [m.phone for m in sms.sent] == ["13893100001", "13893100099"]
    assert "1个消杀轮次" in sms.sent[1].text
    r.refresh_from_db()
    assert r.reminded_at == at(9, 5) and r.escalated_at == at(10, 6)
    assert Message.objects.filter(purpose="sanitation_overdue").count() == 2
    # The round page says so.
    assert r.done_at is None


def test_the_reminder_command_and_task_say_what_they_did(clock, sms, sealed, lift, zhao):
    from sanitation import tasks

    RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    clock.move_to(at(9, 30))
    out = io.StringIO()
    call_command("remind_overdue", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == (
        "reminded 1 cleaners, 0 secretaries about 0 rounds"
    )
    assert tasks.remind_overdue.apply().get() == (
        "reminded 0 cleaners, 0 secretaries about 0 rounds"
    )


def test_an_unapproved_text_does_not_stop_the_sweep(clock, settings, sealed, lift, zhao, caplog):
    settings.WUYI_SMS_BACKEND = "locmem"
    RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    clock.move_to(at(9, 30))
    result = services.rounds_remind_overdue()
    assert result.cleaners == 0
    assert Round.objects.get(area=lift).reminded_at is not None  # claimed: not retried each sweep
    assert "消杀逾期提醒" in caplog.text and "13893100001" not in caplog.text


def test_a_reassigned_round_reminds_the_new_cleaner(
    clock, sms, secretary_a, sealed, lift, zhao, qian
):
    r = RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    clock.move_to(at(9, 5))
    services.rounds_remind_overdue()
    services.round_reassign(by=secretary_a, round=r, assignee=qian)
    clock.move_to(at(9, 10))
    assert services.rounds_remind_overdue().cleaners == 1
    send_queued()
    assert [m.phone for m in sms.sent] == ["13893100001", "13893100002"]
