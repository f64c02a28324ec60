"""The register's audiences for SMS campaigns (messaging.registry): a compound, some
buildings, the vulnerable-person ledger by category (people in quarantine: screening's). Registered
by plugins.register() (from ResidentsConfig.ready()); messaging never imports this app.
Everything is read through visible_to: a compound or building the user cannot see is refused
like one that does not exist.
"""

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from compounds.models import Building, Compound, building_label
from messaging.registry import Audience, AudienceBuilder, Target, register_audience
from wuyi.lib.errors import Refused

from .models import Category, Resident, ResidentQuerySet, VulnerableTag

MSG_NOT_LISTED = _("Choose from the list.")


def _ids(values: list[str]) -> list[int]:
    if not all(v.isdigit() and len(v) < 19 for v in values):
        raise Refused(MSG_NOT_LISTED, field="targets")
    return sorted({int(v) for v in values})


def _choices(values: list[str], allowed: list[str]) -> list[str]:
    if any(v not in allowed for v in values):
        raise Refused(MSG_NOT_LISTED, field="targets")
    return list(dict.fromkeys(values))


def phones(residents: ResidentQuerySet) -> Iterator[tuple[str, None]]:
    """Each current resident's phone once (the outbox drops numbers that take no SMS)."""
    numbers = (
        residents.current().exclude(phone="").order_by().values_list("phone", flat=True).distinct()
    )
    for phone in numbers.iterator(chunk_size=5000):
        yield phone, None


def _compound_targets(user: Any) -> list[Target]:
    return [
        Target(str(pk), name)
        for pk, name in Compound.objects.visible_to(user).order_by("name").values_list("pk", "name")
    ]


def _compound_build(user: Any, values: list[str]) -> Audience:
    ids = _ids(values)
    compound = Compound.objects.visible_to(user).filter(pk__in=ids).first()
    if compound is None or len(ids) != 1:
        raise Refused(MSG_NOT_LISTED, field="targets")
    return Audience(
        rows=phones(Resident.objects.visible_to(user).filter(compound_id=compound.pk)),
        description=gettext("Residents of %(compound)s") % {"compound": compound.name},
        compound_id=compound.pk,
    )


def _building_targets(user: Any) -> list[Target]:
    """Every building the user sees, compound by compound, 2号楼 before 10号楼: three
    columns a building (a community of 500 buildings loaded each building and its compound
    whole for the compose page)."""
    rows = sorted(
        Building.objects.visible_to(user).values_list("pk", "number", "compound__name"),
        key=lambda row: (row[2], len(row[1]), row[1]),
    )
    return [Target(str(pk), f"{name} {building_label(number)}") for pk, number, name in rows]


def _building_build(user: Any, values: list[str]) -> Audience:
    ids = _ids(values)
    buildings = list(
        Building.objects.visible_to(user)
        .filter(pk__in=ids)
        .select_related("compound")
        .order_by("compound__name", "number")
    )
    if len(buildings) != len(ids):
        raise Refused(MSG_NOT_LISTED, field="targets")
    compounds = {b.compound_id for b in buildings}
    communities = {b.compound.community_id for b in buildings}
    names = "、".join(building_label(b.number) for b in buildings)
    return Audience(
        rows=phones(Resident.objects.visible_to(user).filter(household__building_id__in=ids)),
        description=f"{buildings[0].compound.name} {names}"
        if len(compounds) == 1
        else "、".join(f"{b.compound.name}{building_label(b.number)}" for b in buildings),
        compound_id=compounds.pop() if len(compounds) == 1 else None,
        community_id=communities.pop() if len(communities) == 1 else None,
    )


def _vulnerable_targets(user: Any) -> list[Target]:
    return [Target(value, str(label)) for value, label in Category.choices]


def _vulnerable_build(user: Any, values: list[str]) -> Audience:
    chosen = _choices(values, Category.values)
    residents = Resident.objects.visible_to(user).filter(
        pk__in=VulnerableTag.objects.visible_to(user)
        .filter(category__in=chosen)
        .values("resident_id")
    )
    labels = "、".join(str(Category(v).label) for v in chosen)
    return Audience(
        rows=phones(residents),
        description=gettext("Vulnerable-person ledger: %(categories)s") % {"categories": labels},
    )


def register() -> None:
    register_audience(
        AudienceBuilder(
            key="residents.compound",
            label=_("A whole compound"),
            targets=_compound_targets,
            build=_compound_build,
            order=10,
        )
    )
    register_audience(
        AudienceBuilder(
            key="residents.buildings",
            label=_("Buildings"),
            targets=_building_targets,
            build=_building_build,
            multiple=True,
            order=20,
        )
    )
    register_audience(
        AudienceBuilder(
            key="residents.vulnerable",
            label=_("Vulnerable-person ledger"),
            targets=_vulnerable_targets,
            build=_vulnerable_build,
            multiple=True,
            order=30,
        )
    )
