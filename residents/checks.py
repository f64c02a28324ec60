"""Start-up checks of the settings the register depends on (registered by importing this module
from the app's ready)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from . import notify


@register("wuyi")
def public_address_fits_an_sms(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Household links are texted with the public address as one SMS value: a longer address
    would make every renewal refuse, so the operator hears it at start-up."""
    site = str(getattr(settings, "WUYI_PUBLIC_URL", "") or "")
    if not site or notify.site_fits(site):
        return []
    return [
        Warning(
            f"WUYI_PUBLIC_URL ({site}) is longer than the {notify.VALUE_MAX} characters an SMS "
            "value holds: household links cannot be texted.",
            hint="Serve the app on a shorter address (scheme and host); set WUYI_PUBLIC_URL to it.",
            id="residents.W001",
        )
    ]
