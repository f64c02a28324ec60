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

        from .notify import CREW, PICKUP
        from .views import compound_panel, resident_links, today_tasks

        register_compound_panel(compound_panel)

        from . import plugins

        register_compound_warning(plugins.compound_warnings)
        register_resident_links(resident_links)
        register_contacts(plugins.escort_contacts)
        register_task_provider(today_tasks)

        from residents.signals import resident_left

        from .services import on_resident_left

        resident_left.connect(on_resident_left, dispatch_uid="medical.resident_left")
        # Its own texts (codes, links, reminders) are never offered for a campaign.
        register_system_templates(PICKUP, CREW)
