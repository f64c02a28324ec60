"""Who does what in the campaign, the certificate's status graph and the bounds of what is
recorded. Forms, the API, the admin and the services all ask here."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from wuyi.lib.graphs import Graph

from .models import CertificateStatus

READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}
CHECKERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}
RECORDERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}

MAX_PUBLICITY_PER_DAY = 1_000_000
NO_CASE_DAYS_RANGE = (1, 60)
ROUNDS_RANGE = (1, 10)  # how many of the last testing rounds are looked at
COVERAGE_RANGE = (50, 100)  # the percent each of them must reach
# Supply orders still open after this many hours hold a compound back.
ORDER_WAIT_HOURS = 24
# Medical waste: records of the days before today must all be cleared, this far back.
WASTE_DAYS_BACK = 7

MSG_NOT_DISTRICT = _("Only district staff certify a compound.")
MSG_NOT_EDITOR = _("Only district staff edit the district's checklist.")
MSG_EVIDENCE = _("This item needs evidence: write what was seen or add a photo.")
MSG_MEASURED = _("This item is measured by the app; it is not checked by hand.")
MSG_RETIRED = _("This item was changed or removed; check the current one.")
MSG_COUNT_LOW = _("Give a count of at least 1.")
MSG_COUNT_HIGH = _(
    "%(count)s in a day is not believable: at most %(max)s a day for one kind in one community."
)
MSG_DAY_FUTURE = _("The date is in the future.")
MSG_NOT_ELIGIBLE = _("Not eligible yet: %(items)s.")
MSG_NOT_SENDER = _("Only the community secretary sends the texts to residents.")
MSG_NO_TEXT = _("The district has not written this text yet.")
MSG_NO_TEMPLATE = _("The SMS template for the texts is missing: ask the administrator.")


def may_read(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in READERS)


def may_edit_checklist(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role == Role.DISTRICT_STAFF)


def may_certify(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role == Role.DISTRICT_STAFF)


def may_check(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in CHECKERS)


def may_record_publicity(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in RECORDERS)


def may_write_texts(user: Any) -> bool:
    return may_edit_checklist(user)


def may_send_texts(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role == Role.SECRETARY)


# A certificate is granted valid and may only be revoked: by district staff, or by the
# compound's own status rising (the system, checked with by=None).
CERTIFICATE = Graph(
    "certificate",
    CertificateStatus,
    {
        CertificateStatus.VALID: {CertificateStatus.REVOKED: may_certify},
        CertificateStatus.REVOKED: {},
    },
)
