from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("Residents")

    def ready(self) -> None:
        from compounds.signals import compound_moved
        from wuyi.lib import pii  # noqa: F401 - registers its deploy check

        from . import services

        compound_moved.connect(services.on_compound_moved, dispatch_uid="residents.moved")

        from compounds.registry import register_compound_panel

        from .views import compound_panel

        register_compound_panel(compound_panel)

        from . import audiences

        audiences.register()
        from compounds.figures import register_figures

        from .plugins import figures

        register_figures(figures)
