from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "supplies"
    verbose_name = _("Supplies")

    def ready(self) -> None:
        from volunteers.registry import register_task_provider

        from .views import today_tasks

        register_task_provider(today_tasks)
