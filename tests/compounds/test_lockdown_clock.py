"""The lockdown clock on the compound page and list (issue 19): which day of the seal it is,
the days without a case and the first day the compound may step down, in Asia/Shanghai
days."""

import datetime
import re
from zoneinfo import ZoneInfo

import time_machine
from django.test import override_settings
from django.urls import reverse

from compounds.models import Compound, ControlStatus, LockdownClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Sealed 2026-11-28 at 23:30 Shanghai time (15:30 UTC: still the 28th in Shanghai).
SEALED_AT = datetime.datetime(2026, 11, 28, 23, 30, tzinfo=SHANGHAI)
TODAY = datetime.datetime(2026, 12, 4, 0, 30, tzinfo=SHANGHAI)


def _seal(compound, last_case):
    Compound.objects.filter(pk=compound.pk).update(
        status=ControlStatus.SEALED, status_changed_at=SEALED_AT, last_positive_on=last_case
    )
    compound.refresh_from_db()
    return compound


@override_settings(WUYI_DOWNGRADE_QUIET_DAYS=7)
def test_the_clock_counts_shanghai_days(compound_a):
    compound = _seal(compound_a, datetime.date(2026, 12, 1))
    with time_machine.travel(TODAY, tick=False):
        clock = compound.clock
    # Day 1 is 11-28; at 00:30 on 12-04 in Shanghai it is day 7 (UTC would still say the 3rd).
    assert clock.locked_down and clock.day == 7
    assert clock.days_without_case == 3
    assert clock.step_down_on == datetime.date(2026, 12, 8)
    assert not clock.may_step_down and clock.days_to_step_down == 4
    later = LockdownClock.of(compound, today=datetime.date(2026, 12, 8))
    assert later.may_step_down


def test_a_normal_compound_has_no_clock(compound_a):
    assert not compound_a.clock.locked_down


@override_settings(WUYI_DOWNGRADE_QUIET_DAYS=7)
def test_the_page_and_the_list_show_the_clock(login, secretary_a, compound_a):
    _seal(compound_a, datetime.date(2026, 12, 1))
    client = login(secretary_a)
    with time_machine.travel(TODAY, tick=False):
        detail = client.get(reverse("compounds:detail", args=[compound_a.pk])).content.decode()
        listing = client.get(reverse("compounds:list")).content.decode()
    clock = re.search(r'<ul class="figures lockdown-clock".*?</ul>', detail, re.S)[0]
    text = re.sub(r"<[^>]+>|\s+", "", clock)
    assert "封控第7天" in text and "无新增阳性3天" in text and "最早2026-12-08可降级" in text
    row = re.search(rf'data-clock="{compound_a.pk}".*?</span></span>', listing, re.S)[0]
    text = re.sub(r"<[^>]+>|\s+", "", row)
    assert "封控第7天" in text and "12-08可降级（还有4天）" in text
