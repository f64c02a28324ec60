from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompoundsConfig(AppConfig):
    name = "compounds"
    verbose_name = _("Places and compounds")

    def ready(self) -> None:
        from accounts.access import set_jurisdiction_source

        from .selectors import postings_of

        set_jurisdiction_source(postings_of)

        from .plugins import secretary_warnings, warnings_panel
        from .registry import register_compound_panel, register_compound_warning

        register_compound_panel(warnings_panel)
        register_compound_warning(secretary_warnings)
        from .figures import register_figures
        from .plugins import status_figures

        register_figures(status_figures)
