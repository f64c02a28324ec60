"""The volunteers on tomorrow's shifts, as an SMS audience (messaging.registry). Registered by
plugins.register() (from VolunteersConfig.ready()); messaging never imports this app."""

import datetime
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compounds.models import Compound
from messaging.registry import Audience, AudienceBuilder, Target, register_audience
from wuyi.lib.errors import Refused

from .models import Assignment

ALL = "all"


def _tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


def _targets(user: Any) -> list[Target]:
    day = _tomorrow()
    compounds = Compound.objects.visible_to(user).filter(
        pk__in=Assignment.objects.visible_to(user)
        .filter(shift__date=day)
        .values("shift__compound_id")
    )
    return [Target(ALL, gettext("Every compound"))] + [
        Target(str(pk), name) for pk, name in compounds.order_by("name").values_list("pk", "name")
    ]


def _phones(assignments: QuerySet[Assignment]) -> Iterator[tuple[str, None]]:
    for phone in (
        assignments.order_by().values_list("volunteer__phone", flat=True).distinct().iterator()
    ):
        yield phone, None


def _build(user: Any, values: list[str]) -> Audience:
    day = _tomorrow()
    assignments = Assignment.objects.visible_to(user).filter(shift__date=day)
    if values == [ALL]:
        return Audience(
            rows=_phones(assignments),
            description=gettext("Volunteers on shift on %(day)s") % {"day": day.isoformat()},
        )
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 18:
        raise Refused(_("Choose from the list."), field="targets")
    compound = Compound.objects.visible_to(user).filter(pk=int(values[0])).first()
    if compound is None:
        raise Refused(_("Choose from the list."), field="targets")
    return Audience(
        rows=_phones(assignments.filter(shift__compound_id=compound.pk)),
        description=gettext("Volunteers on shift at %(compound)s on %(day)s")
        % {"compound": compound.name, "day": day.isoformat()},
        compound_id=compound.pk,
    )


def register() -> None:
    register_audience(
        AudienceBuilder(
            key="volunteers.tomorrow",
            label=_("Volunteers on tomorrow's shifts"),
            targets=_targets,
            build=_build,
            order=50,
        )
    )
