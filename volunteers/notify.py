"""The SMS that carries a volunteer's one-time login link, through messaging (floor 2).

The text is a provider-approved template, created unapproved by migration 0002: an operator
enters the provider's code and approves it (seed_demo approves it with a demo code). Until it
is approved the secretary's page shows the link to pass on by hand, as before.
"""

import hashlib
import logging

from messaging.models import Allowance
from messaging.services import send_sms
from wuyi.lib.errors import Refused

from .models import Volunteer

log = logging.getLogger(__name__)

LOGIN_LINK = "志愿者登录链接"
PURPOSE = "volunteer_login"


def login_link_sms(*, by, volunteer: Volunteer, token: str, site: str) -> bool:
    """Queue the link's SMS to the volunteer's own phone; False when it cannot go (the template
    is not approved, the site's address is too long for a variable, the number opted out).
    `site` is the scheme and host the link opens on; the path is in the approved text."""
    try:
        send_sms(
            to=volunteer.phone,
            template=LOGIN_LINK,
            variables={"community": volunteer.community.name, "site": site, "code": token},
            purpose=PURPOSE,
            urgent=False,
            sender=by,
            place=volunteer.community,
            allowance=Allowance.SYSTEM,
            # One SMS per link: a new link is a new key, the same link never goes twice.
            idempotency_key="volunteers:link:" + hashlib.sha256(token.encode()).hexdigest()[:32],
        )
    except Refused as refused:
        log.warning("login link SMS not queued: %s", refused.message)
        return False
    return True
