from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = _("Screening")

    def ready(self) -> None:
        from messaging.registry import register_system_templates

        from . import plugins
        from .notify import CASE_ALERT, TEST_DAY

        plugins.register()
        # Its own texts are never offered for a campaign.
        register_system_templates(CASE_ALERT, TEST_DAY)
        from . import household  # noqa: F401 - registers the household link's pages
