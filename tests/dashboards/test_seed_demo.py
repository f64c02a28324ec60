"""`manage.py seed_demo` on a fresh database at any minute: just before and just after midnight
in Shanghai (00:02 there is 16:02 UTC the day before). The clock is frozen: seed_demo takes
minutes on a busy machine, and 23:58 must stay 23:58 while it runs."""

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "local",
    [
        datetime.datetime(2026, 12, 3, 23, 58),  # a deadline 5 minutes on is tomorrow
        datetime.datetime(2026, 12, 4, 0, 2),  # yesterday's evening is minutes ago
    ],
    ids=str,
)
@pytest.mark.django_db
def test_seed_demo_passes_at_any_minute_and_dates_nothing_in_the_future(local):
    from compounds.models import Compound
    from medical.models import Escort
    from messaging.models import Recipient
    from residents.models import Resident
    from sanitation.models import Round, WasteRecord
    from supplies.models import GroupBuy, Order
    from volunteers.models import Shift

    with time_machine.travel(local.replace(tzinfo=SHANGHAI), tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        now = timezone.now()
        today = timezone.localdate()
        assert today == local.date()
        # Every buy delivers on its deadline's day or later; the one out for delivery today.
        buys = list(GroupBuy.objects.all())
        assert len(buys) == 2
        assert all(b.delivery_date >= timezone.localdate(b.deadline) for b in buys)
        assert sorted(b.delivery_date for b in buys)[0] == today
        assert sum(b.deadline > now for b in buys) == 1  # one still open for orders
        # What happened, happened before now.
        assert not Order.objects.filter(submitted_at__gt=now).exists()
        assert not Order.objects.filter(delivered_at__gt=now).exists()
        assert Escort.objects.filter(kind="emergency").exists()
        assert not Escort.objects.filter(closed_at__gt=now).exists()
        assert not Escort.objects.filter(dispatched_at__gt=now).exists()
        assert Round.objects.filter(date=today).exists()
        assert not Round.objects.filter(done_at__gt=now).exists()
        assert not WasteRecord.objects.filter(handed_at__gt=now).exists()
        assert not WasteRecord.objects.filter(date__gt=today).exists()
        assert not Recipient.objects.filter(sent_at__gt=now).exists()
        assert not Compound.objects.filter(last_positive_on__gt=today).exists()
        assert not Resident.objects.filter(birth_date__gt=today).exists()
        # The week of shifts starts today.
        assert Shift.objects.filter(date=today).exists()
