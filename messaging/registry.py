"""Who a campaign goes to, without messaging knowing residents or volunteers.

An upper app registers audience builders in its AppConfig.ready() (residents: a compound, some
buildings, the vulnerable-person ledger by category; screening: people in quarantine;
volunteers: those on tomorrow's shifts). The compose page lists each builder's targets for the
user; a campaign is one builder and the target values chosen. A builder reads only through
visible_to: a value the user cannot see is refused like one that does not exist.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from wuyi.lib.errors import Refused


@dataclass(frozen=True)
class Target:
    value: str
    label: str


@dataclass
class Audience:
    """What a builder found: the numbers (with each one's own variables, if the builder gives
    any), a description for the message list, and the place the campaign concerns (the
    narrowest known: a compound, else a community; None: the sender's own place)."""

    rows: Iterable[tuple[str, dict[str, str] | None]]
    description: str
    compound_id: int | None = None
    community_id: int | None = None


@dataclass(frozen=True)
class AudienceBuilder:
    key: str  # "residents.buildings"
    label: Any  # a lazy string: "Buildings"
    targets: Callable[[Any], list[Target]]  # targets(user)
    build: Callable[[Any, list[str]], Audience]  # build(user, values); Refused for a bad value
    multiple: bool = False  # may several targets be chosen at once
    provides: tuple[str, ...] = ()  # template variables the builder fills per recipient
    order: int = 100
    help: Any = ""
    extra: dict[str, Any] = field(default_factory=dict)


_builders: dict[str, AudienceBuilder] = {}

MSG_UNKNOWN_AUDIENCE = _("Choose who the message goes to.")
MSG_NO_TARGET = _("Choose at least one.")
MSG_ONE_TARGET = _("Choose one.")


def register_audience(builder: AudienceBuilder) -> None:
    _builders[builder.key] = builder


def audiences() -> list[AudienceBuilder]:
    return sorted(_builders.values(), key=lambda b: (b.order, b.key))


def audience(key: str) -> AudienceBuilder:
    try:
        return _builders[key]
    except KeyError:
        raise Refused(MSG_UNKNOWN_AUDIENCE, field="audience") from None


def build(key: str, user: Any, values: list[str]) -> tuple[AudienceBuilder, Audience]:
    """The builder's audience for these values; Refused when none or too many are chosen."""
    builder = audience(key)
    values = [str(v) for v in values if str(v).strip()]
    if not values:
        raise Refused(MSG_NO_TARGET, field="targets")
    if len(values) > 1 and not builder.multiple:
        raise Refused(MSG_ONE_TARGET, field="targets")
    return builder, builder.build(user, values)


# ----------------------------------------------------------------------------- system templates

# The texts the app itself sends (a handover code, a login link, an ordering code, a reminder):
# each app names its own in its AppConfig.ready(). They are never offered for a campaign, and a
# campaign naming one is refused: a resident must not get a "验证码" nobody asked for.
_system_templates: set[str] = set()


def register_system_templates(*names: str) -> None:
    _system_templates.update(names)


def system_template_names() -> frozenset[str]:
    return frozenset(_system_templates)
