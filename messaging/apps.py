from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("SMS")

    def ready(self) -> None:
        from . import audiences

        audiences.register()
        from compounds.figures import register_figures

        from .plugins import figures

        register_figures(figures)
