from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from compounds.registry import register_compound_panel

        from . import audiences
        from .views import compound_panel

        register_compound_panel(compound_panel)
        audiences.register()
