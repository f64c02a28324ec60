from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = _("Epidemic-free campaign")

    def ready(self) -> None:
        from . import plugins

        plugins.register()
        from . import household  # noqa: F401 - registers the household link's notices page
