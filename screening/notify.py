"""What screening texts, through messaging (floor 2): a new case to the community secretary and
the district staff who answer for the compound, by SMS and under their bell; a reminder on each
test day of a quarantine to the person kept.

Each text is a provider-approved template created unapproved by migration: an operator enters
the provider's code and approves it (seed_demo approves it with a demo code). An SMS that cannot
be queued goes up a level in the app (messaging.alerts)."""

import logging
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import in_site_language
from messaging.alerts import alert_deliver
from messaging.services import OneSms, notify_by_sms

log = logging.getLogger(__name__)

CASE_ALERT = "新增阳性病例通知"
CASE_ALERT_BODY = "{compound}{date}新增阳性病例，小区已转为封控区，请立即处置。"
PURPOSE = "screening_case"


def case_key(case_id: int, user_id: int) -> str:
    return f"screening:case:{case_id}:{user_id}"


@in_site_language
def case_found(*, case_id: int, compound: Any, found_on: Any) -> int:
    """Tell the compound's secretaries and district staff of a new case, once each (the key
    names case and person). Returns how many SMS were queued."""
    from compounds.selectors import staff_of

    text = _("New positive case in %(compound)s on %(date)s: the compound is now sealed.") % {
        "compound": compound.name,
        "date": found_on.isoformat(),
    }
    link = reverse("screening:case", args=[case_id])
    queued = 0
    told: set[int] = set()
    for role in (Role.SECRETARY, Role.DISTRICT_STAFF):
        for user in staff_of(compound.pk, role=role):
            if user.pk in told:
                continue
            told.add(user.pk)
            key = case_key(case_id, user.pk)

            def sms(phone: str, key: str = key) -> bool:
                sent = notify_by_sms(
                    to=phone,
                    template=CASE_ALERT,
                    variables={"compound": compound.name, "date": found_on.isoformat()},
                    purpose=PURPOSE,
                    idempotency_key=key,
                    urgent=True,
                    place=compound,
                    cut=True,
                )
                return bool(sent)

            delivery = alert_deliver(
                to=user,
                text=text,
                key=key,
                link=link,
                severity=Severity.URGENT,
                sms=sms,
                compound_id=compound.pk,
            )
            queued += delivery.texted
    return queued


# ----------------------------------------------------------------------------- test days

TEST_DAY = "隔离核酸检测提醒"
TEST_DAY_BODY = "{name}您好，今天（{date}）是您隔离期间的核酸检测日，请在家等候上门采样。"
TEST_DAY_PURPOSE = "screening_test_day"


def test_day_key(quarantine_id: int, day: Any) -> str:
    return f"screening:test-day:{quarantine_id}:{day.isoformat()}"


def test_day_due(people: list[tuple[int, str, str, Any]], day: Any) -> int:
    """Remind people in quarantine that today is a test day: (quarantine id, name, phone,
    compound) each, once a day each (the key names the record and the day). Returns how many
    were queued; a compound's reminders go in one batch."""
    by_compound: dict[Any, list[OneSms]] = {}
    for quarantine_id, name, phone, compound in people:
        by_compound.setdefault(compound, []).append(
            OneSms(
                phone,
                {"name": name, "date": day.isoformat()},
                test_day_key(quarantine_id, day),
            )
        )
    return sum(
        notify_by_sms(
            to=items, template=TEST_DAY, purpose=TEST_DAY_PURPOSE, place=compound, cut=True
        )
        for compound, items in by_compound.items()
    )
