from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicalConfig(AppConfig):
    name = "medical"
    verbose_name = _("Medical support")

    def ready(self) -> None:
        from compounds.registry import register_compound_panel, register_compound_warning
        from messaging.registry import register_system_templates
        from residents.registry import register_contacts, register_resident_links
        from volunteers.registry import register_task_provider

        from . import plugins
        from .notify import CREW, PICKUP

        register_compound_panel(plugins.compound_panel)
        register_compound_warning(plugins.compound_warnings)
        register_resident_links(plugins.resident_links)
        register_task_provider(plugins.today_tasks)
        register_contacts(plugins.escort_contacts, reached=plugins.escort_reached)
        from compounds.figures import register_figures

        register_figures(plugins.figures)

        from residents.signals import resident_left

        from .services import on_resident_left

        resident_left.connect(on_resident_left, dispatch_uid="medical.resident_left")
        # Its own texts (the pickup time, the crew's job) are never offered for a campaign.
        register_system_templates(PICKUP, CREW)
        from residents.registry import register_household_action, register_need_turn

        from .household import ESCORT_ACTION, NEED_TURN

        register_household_action(ESCORT_ACTION)
        register_need_turn(NEED_TURN)
