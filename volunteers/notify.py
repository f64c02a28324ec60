"""The SMS that carries a volunteer's one-time login link, through messaging (floor 2), and the
secretary's in-app alert of a shift short of people (messaging.alerts).

The text is a provider-approved template, created unapproved by migration 0002: an operator
enters the provider's code and approves it (seed_demo approves it with a demo code). Until it
is approved the secretary's page shows the link to pass on by hand, as before.
"""

import hashlib

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import in_site_language
from messaging.alerts import alert_staff
from messaging.services import notify_by_sms

from .models import Shift, Volunteer

LOGIN_LINK = "志愿者登录链接"
PURPOSE = "volunteer_login"


def login_link_sms(*, by, volunteer: Volunteer, token: str, site: str) -> bool:
    """Queue the link's SMS to the volunteer's own phone; False when it cannot go (the template
    is not approved, the site's address is too long for a variable, the number opted out).
    `site` is the scheme and host the link opens on; the path is in the approved text."""
    sent = notify_by_sms(
        to=volunteer.phone,
        template=LOGIN_LINK,
        variables={"community": volunteer.community.name, "site": site, "code": token},
        purpose=PURPOSE,
        by=by,
        place=volunteer.community,
        # One SMS per link: a new link is a new key, the same link never goes twice.
        idempotency_key="volunteers:link:" + hashlib.sha256(token.encode()).hexdigest()[:32],
    )
    return sent > 0


@in_site_language
def shift_unstaffed(shift: Shift, *, staffed: int) -> int:
    """Tell the compound's secretaries (in the app) that a coming shift is short of people, once
    per shift. Returns how many were told."""
    start = timezone.localtime(shift.starts_at)
    text = _(
        "%(compound)s: %(shift)s on %(day)s at %(time)s has %(staffed)d of %(needed)d "
        "volunteers; %(missing)d more are needed."
    ) % {
        "compound": shift.compound.name,
        "shift": shift.name,
        "day": start.strftime("%m-%d"),
        "time": start.strftime("%H:%M"),
        "staffed": staffed,
        "needed": shift.needed,
        "missing": shift.needed - staffed,
    }
    told = alert_staff(
        compound_id=shift.compound_id,
        role=Role.SECRETARY,
        text=text,
        key=unstaffed_key(shift.pk),
        link=reverse("volunteers:shift", args=[shift.pk]),
        severity=Severity.WARNING,
    )
    return len(told)


def unstaffed_key(shift_id: int) -> str:
    return f"volunteers:unstaffed:{shift_id}"
