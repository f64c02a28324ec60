"""The small rules of the place tree with one home: how a building and a door are written,
and the one place a user is posted to."""

from accounts.models import Role
from compounds.models import Building, Community, District, address_label, building_label
from compounds.selectors import place_of_user
from tests.factories import UserFactory


def test_a_building_is_written_one_way():
    assert building_label("3") == "3号楼"
    assert building_label("A") == "A号楼"
    assert building_label("A座") == "A座"
    assert building_label("3栋") == "3栋"
    assert str(Building(number="3")) == "3号楼"
    assert str(Building(number="3", name="综合楼")) == "综合楼"


def test_a_door_is_written_as_committees_write_it():
    assert address_label("3", "2", "501") == "3号楼2单元501"
    assert address_label("3", "", "501") == "3号楼501"
    assert address_label("A座", "1", "101") == "A座1单元101"


def test_the_place_of_a_user_posted_once(secretary_a, community_a, district_staff, district):
    assert place_of_user(secretary_a) == community_a
    assert isinstance(place_of_user(secretary_a), Community)
    assert place_of_user(secretary_a, level="community") == community_a
    assert place_of_user(secretary_a, level="district") is None
    assert place_of_user(district_staff) == district
    assert isinstance(place_of_user(district_staff), District)


def test_no_place_for_a_user_posted_nowhere_or_twice(community_a, community_b):
    nowhere = UserFactory(username="nowhere", role=Role.SECRETARY)
    assert place_of_user(nowhere) is None
    twice = UserFactory(username="twice", role=Role.SECRETARY, posted_to=[community_a, community_b])
    assert place_of_user(twice) is None
