from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SanitationConfig(AppConfig):
    name = "sanitation"
    verbose_name = _("Sanitation")

    def ready(self) -> None:
        from . import plugins

        plugins.register()
