from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SanitationConfig(AppConfig):
    name = "sanitation"
    verbose_name = _("Sanitation")

    def ready(self) -> None:
        from compounds.registry import register_compound_panel, register_compound_warning
        from messaging.registry import register_system_templates
        from volunteers.registry import register_task_provider

        from .notify import ESCALATED, OVERDUE
        from .views import compound_panel, today_tasks

        register_compound_panel(compound_panel)

        from . import plugins

        register_compound_warning(plugins.compound_warnings)
        from compounds.figures import register_figures

        register_figures(plugins.figures)
        register_task_provider(today_tasks)
        # Its own texts (codes, links, reminders) are never offered for a campaign.
        register_system_templates(OVERDUE, ESCALATED)
