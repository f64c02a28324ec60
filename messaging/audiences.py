"""messaging's own audience: numbers typed one a line (a list handed over on paper)."""

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import registry, rules

ADHOC = "messaging.numbers"


def _targets(user: Any) -> list[registry.Target]:
    return []  # free text: the form shows a text box


def _build(user: Any, values: list[str]) -> registry.Audience:
    phones = rules.clean_phone_list(values)
    return registry.Audience(
        rows=[(phone, None) for phone in phones],
        description=gettext("%(n)d numbers typed in") % {"n": len(phones)},
    )


def register() -> None:
    registry.register_audience(
        registry.AudienceBuilder(
            key=ADHOC,
            label=_("Numbers typed in"),
            targets=_targets,
            build=_build,
            multiple=True,
            order=900,
            help=_("One mobile number a line."),
        )
    )
