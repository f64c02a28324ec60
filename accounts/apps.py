from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # The login protection (django-axes) speaks Chinese in the admin like the rest.
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.apps import apps

        apps.get_app_config("axes").verbose_name = _("Login protection")
        for model, one, many in (
            (AccessAttempt, _("login attempt"), _("login attempts")),
            (AccessFailureLog, _("failed login"), _("failed logins")),
            (AccessLog, _("login record"), _("login records")),
        ):
            model._meta.verbose_name, model._meta.verbose_name_plural = one, many
