"""Every writable relation of the API offers only the rows its user sees (wuyi.lib.drf's
ScopedRelations): an id of another community is refused as one that does not exist. Found by
walking every serializer of every app's api module, so that a serializer added tomorrow is
held to it without anyone editing this file."""

import importlib
import inspect

import pytest
from django.apps import apps
from django.conf import settings
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from supplies.api import ClaimSerializer
from wuyi.lib.drf import ScopedRelations


def our_serializers() -> list[type[serializers.BaseSerializer]]:
    found = []
    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)) or "site-packages" in config.path:
            continue
        try:
            module = importlib.import_module(f"{config.name}.api")
        except ModuleNotFoundError:
            continue
        found += [
            cls
            for _name, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, serializers.BaseSerializer) and cls.__module__ == module.__name__
        ]
    return found


def scoped_relations(serializer: serializers.BaseSerializer) -> list[str]:
    """The writable relations to a model whose manager has visible_to."""
    names = []
    for name, field in serializer.get_fields().items():
        related = getattr(field, "child_relation", field)
        queryset = getattr(related, "queryset", None)
        if field.read_only or queryset is None:
            continue
        if hasattr(queryset.model._default_manager, "visible_to"):
            names.append(name)
    return names


def test_the_walk_finds_the_serializers_with_relations():
    with_relations = [c for c in our_serializers() if scoped_relations(c())]
    assert len(with_relations) >= 10
    assert ClaimSerializer in with_relations


@pytest.mark.parametrize("cls", our_serializers(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_writable_relation_is_scoped(cls):
    names = scoped_relations(cls())
    if names:
        assert issubclass(cls, ScopedRelations), (
            f"{cls.__name__} offers {names} unscoped: base it on wuyi.lib.drf's Serializer or "
            "ModelSerializer"
        )


def test_a_building_of_another_community_does_not_exist_for_the_outsider(
    secretary_a, secretary_b, compound_a, compound_b
):
    request = APIRequestFactory().post("/")
    request.user = secretary_b
    theirs = compound_b.buildings.get()
    ours = compound_a.buildings.first()
    as_b = ClaimSerializer(data={"building": ours.pk}, context={"request": request})
    assert not as_b.is_valid()
    # Refused as an id that does not exist: nothing says the building is there.
    assert [e.code for e in as_b.errors["building"]] == ["does_not_exist"]
    as_b = ClaimSerializer(data={"building": theirs.pk}, context={"request": request})
    assert as_b.is_valid(), as_b.errors
    request.user = secretary_a
    as_a = ClaimSerializer(data={"building": ours.pk}, context={"request": request})
    assert as_a.is_valid(), as_a.errors
