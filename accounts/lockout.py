"""Login lock-out on two counts (django-axes, AXES_HANDLER): a user name from an address locks
after AXES_FAILURE_LIMIT failures (5), and an address locks after AXES_ADDRESS_FAILURE_LIMIT
failures across every user name (30), each for AXES_COOLOFF_TIME.

Axes compares one failure count against one limit (the largest count over its lockout
parameters), so a per-address limit higher than the per-name one needs this handler: the
address's count, once past its own limit, reads as a locked pair. A spray over volunteers'
user names (their phone numbers, one or two guesses each) never reaches 5 for a name, and is
stopped at 30 for the address; an office behind one address is not locked by five typos.

Axes resets a successful user's attempts for every parameter set, the address's included: an
attacker's own account logging in between guesses would wipe the spray's count. Here a success
resets that user name's attempts from that address only.
"""

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class AddressLimitHandler(AxesDatabaseHandler):
    def _failures(self, request: Any, **filters: Any) -> int:
        attempts = AccessAttempt.objects.filter(**filters)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        address = request.axes_ip_address
        pair = self._failures(
            request, username=get_client_username(request, credentials), ip_address=address
        )
        if self._failures(request, ip_address=address) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(pair, get_failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request: Any, credentials: dict | None = None) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count
