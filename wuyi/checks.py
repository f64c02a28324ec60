"""System checks of the deployment's settings (run by migrate, runserver and `check`; registered
from dashboards' AppConfig.ready). A plain-http start says plainly what to set."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register("wuyi")
def tls_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    tls = getattr(settings, "WUYI_TLS", True)
    found: list[CheckMessage] = []
    if not tls:
        found.append(
            Warning(
                "Running without TLS (WUYI_TLS=0): session and CSRF cookies are sent over "
                "plain http, where anyone on the network can read them.",
                hint=(
                    "Put the site behind TLS (deploy/nginx.conf), then set WUYI_TLS=1 "
                    "(the default): Secure cookies, a redirect to https and HSTS together."
                ),
                id="wuyi.W001",
            )
        )
        if getattr(settings, "SECURE_SSL_REDIRECT", False):
            found.append(
                Error(
                    "DJANGO_SECURE_SSL_REDIRECT is on while WUYI_TLS=0: every page would "
                    "redirect to https, which this deployment does not serve.",
                    hint="Unset DJANGO_SECURE_SSL_REDIRECT, or serve https and set WUYI_TLS=1.",
                    id="wuyi.E001",
                )
            )
    return found
