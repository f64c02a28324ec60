import pytest
from django.core.exceptions import PermissionDenied
from django.db import models

from wuyi.lib.graphs import Graph, MoveRefused


class Light(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    OFF = "off", "Off"


class Who:
    def __init__(self, boss: bool) -> None:
        self.boss = boss


def boss(user) -> bool:
    return user.boss


def owner(user, obj) -> bool:
    return obj == "mine"


LIGHT = Graph(
    "light",
    Light,
    {
        Light.RED: {Light.GREEN: None, Light.OFF: boss},
        Light.GREEN: {Light.AMBER: None, Light.OFF: owner},
        Light.AMBER: {Light.RED: None},
        Light.OFF: {},
    },
)


def test_moves_and_refusals_cover_every_pair():
    moves = set(LIGHT.moves())
    refused = set(LIGHT.refused())
    assert moves == {("red", "green"), ("red", "off"), ("green", "amber"), ("green", "off"),
                     ("amber", "red")}  # fmt: skip
    assert not moves & refused and len(moves) + len(refused) == 4 * 3


@pytest.mark.parametrize(("current", "target"), list(LIGHT.refused()))
def test_every_refused_move_is_refused_with_its_message(current, target):
    with pytest.raises(MoveRefused) as refused:
        LIGHT.check(current, target)
    text = str(refused.value)
    assert LIGHT.label(current) in text and LIGHT.label(target) in text
    assert refused.value.field == "status"


def test_a_final_state_says_so_and_a_move_names_the_alternatives():
    with pytest.raises(MoveRefused) as final:
        LIGHT.check("off", "red")
    assert "final" in str(final.value) or "最终" in str(final.value)
    with pytest.raises(MoveRefused) as skip:
        LIGHT.check("red", "amber")
    assert "Green" in str(skip.value) and "Off" in str(skip.value)


def test_who_may_move():
    LIGHT.check("red", "off", by=Who(boss=True))
    with pytest.raises(PermissionDenied):
        LIGHT.check("red", "off", by=Who(boss=False))
    LIGHT.check("green", "off", by=Who(boss=False), obj="mine")
    with pytest.raises(PermissionDenied):
        LIGHT.check("green", "off", by=Who(boss=False), obj="theirs")
    assert LIGHT.targets("red", by=Who(boss=False)) == ["green"]
    assert LIGHT.targets("red") == ["green", "off"]


def test_unknown_and_same_states_are_refused():
    with pytest.raises(MoveRefused):
        LIGHT.check("red", "blue")
    with pytest.raises(MoveRefused):
        LIGHT.check("red", "red")


def test_a_graph_naming_a_state_that_does_not_exist_is_a_programming_error():
    with pytest.raises(ValueError):
        Graph("bad", Light, {Light.RED: {"blue": None}})
