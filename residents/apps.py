from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = _("Residents")

    def ready(self) -> None:
        from compounds.signals import compound_moved
        from wuyi.lib import pii  # noqa: F401 - registers its deploy check

        from . import checks, plugins, services, tasks  # noqa: F401 - tasks sets codes.queue_lookup

        compound_moved.connect(services.on_compound_moved, dispatch_uid="residents.moved")
        plugins.register()
