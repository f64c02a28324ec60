"""The register shows screening's records through residents' registry: who is in quarantine
(the compound's count, the lists, the resident's page, the export, the SMS audience) until
released, and the households under temporary control, on the register and the today list.
The register's old quarantine fields are gone: screening's migration copied them."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from messaging import registry
from residents.models import Resident
from residents.personal import residents_export_xlsx
from residents.selectors import compound_counts
from screening import services
from screening.models import TemporaryControl
from tests.factories import HouseholdFactory, ResidentFactory
from tests.screening.factories import QuarantineFactory, TubeFactory
from volunteers.registry import tasks_for

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _clock():
    # Late evening in Lanzhou, already the next day's early hours nowhere: a local-day test.
    with time_machine.travel(datetime.datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def people(compound_a):
    start = DAY - datetime.timedelta(days=7)

    def kept(name, phone, kind):
        person = ResidentFactory(compound=compound_a, name=name, phone=phone)
        QuarantineFactory(compound=compound_a, resident=person, kind=kind, starts_on=start)
        return person

    return {
        "ending": kept("李建国", "13893100001", "isolation"),
        "open": kept("王芳", "13893100002", "close"),
        "later": kept("赵强", "13893100003", "isolation"),
        "none": ResidentFactory(compound=compound_a, name="钱多", phone="13893100004"),
    }


def audience_phones(user) -> set[str]:
    _builder, audience = registry.build("screening.quarantine", user, ["isolation", "close"])
    return {phone for phone, _own in audience.rows}


def test_counts_lists_and_audience_follow_the_release(login, secretary_a, compound_a, people):
    client = login(secretary_a)
    for counted in (3, 2):
        assert compound_counts(user=secretary_a, compound_id=compound_a.pk).in_quarantine == counted
        phones = audience_phones(secretary_a)
        assert ("13893100001" in phones) is (counted == 3)
        assert {"13893100002", "13893100003"} <= phones and "13893100004" not in phones
        page = client.get(reverse("compounds:detail", args=[compound_a.pk])).content.decode()
        assert f"<strong>{counted}</strong> 人隔离" in page
        listing = client.get(reverse("residents:list") + "?q=李建国").content.decode()
        assert "李建国" in listing and ("居家隔离" in listing) is (counted == 3)
        # Released: from now on no count, list or audience includes the person.
        services.quarantine_release(quarantine_id=_record(people["ending"]).pk, by=secretary_a)


def _record(resident):
    from screening.models import Quarantine

    return Quarantine.objects.get(resident=resident)


def test_a_released_quarantine_shows_as_ended_on_the_page(login, secretary_a, people):
    services.quarantine_release(quarantine_id=_record(people["ending"]).pk, by=secretary_a)
    client = login(secretary_a)
    page = client.get(reverse("residents:detail", args=[people["ending"].pk])).content.decode()
    assert "居家隔离" in page and "已结束" in page
    page = client.get(reverse("residents:detail", args=[people["open"].pk])).content.decode()
    assert "密接" in page and "已结束" not in page
    page = client.get(reverse("residents:detail", args=[people["none"].pk])).content.decode()
    assert "已结束" not in page


def test_the_export_names_the_quarantine_until_released(secretary_a, people):
    services.quarantine_release(quarantine_id=_record(people["ending"]).pk, by=secretary_a)
    fh = io.BytesIO()
    residents = Resident.objects.visible_to(secretary_a).select_related("compound", "household")
    residents_export_xlsx(by=secretary_a, residents=residents, full=False, filters={}, fh=fh)
    fh.seek(0)
    rows = list(load_workbook(fh, read_only=True).active.iter_rows(values_only=True))
    column = rows[0].index("隔离状态")
    kept = {row[2]: row[column] for row in rows[1:]}
    assert kept["王芳"] == "密接 · 居家隔离" and kept["赵强"] == "居家隔离"
    assert not kept["李建国"] and not kept["钱多"]


def test_an_outsider_audience_holds_nobody(secretary_b, people):
    assert audience_phones(secretary_b) == set()


def test_an_unknown_kind_is_refused(secretary_a, people):
    from wuyi.lib.errors import Refused

    with pytest.raises(Refused):
        registry.build("screening.quarantine", secretary_a, ["home"])


# ----------------------------------------------------------------------------- control


@pytest.fixture
def controlled(compound_a):
    household = HouseholdFactory(compound=compound_a)
    person = ResidentFactory(compound=compound_a, household=household, name="孙丽")
    tube = TubeFactory(compound=compound_a, barcode="GZ0001")
    control = TemporaryControl.objects.create(compound=compound_a, household=household, pool=tube)
    return person, control


def test_temporary_control_shows_on_the_register(login, secretary_a, controlled):
    person, control = controlled
    client = login(secretary_a)
    for url in (
        reverse("residents:household", args=[person.household_id]),
        reverse("residents:list") + "?q=孙丽",
        reverse("residents:detail", args=[person.pk]),
    ):
        assert "临时管控" in client.get(url).content.decode(), url
    control.lifted_at = control.started_at
    control.save()
    page = client.get(reverse("residents:household", args=[person.household_id])).content
    assert "临时管控" not in page.decode()


def test_temporary_control_on_the_today_list(volunteer, secretary_b, controlled):
    person, _control = controlled
    tasks = [t for t in tasks_for(volunteer, DAY) if t.key.startswith("control:")]
    assert [t.title for t in tasks] == [person.household.address]
    assert "GZ0001" in tasks[0].detail
    assert not [t for t in tasks_for(secretary_b, DAY) if t.key.startswith("control:")]
