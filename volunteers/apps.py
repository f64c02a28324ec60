from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from compounds.registry import register_compound_panel
        from messaging.registry import register_system_templates

        from . import audiences
        from .notify import LOGIN_LINK
        from .views import compound_panel

        register_compound_panel(compound_panel)
        audiences.register()
        from compounds.figures import register_figures

        from .plugins import figures

        register_figures(figures)
        # Its own texts (codes, links, reminders) are never offered for a campaign.
        register_system_templates(LOGIN_LINK)
