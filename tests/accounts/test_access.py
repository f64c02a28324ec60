import pytest
from django.urls import reverse

from accounts.access import NOTHING, scope_of
from accounts.models import Level, User
from compounds.models import Building, Community, Compound, District, StatusChange, Subdistrict


def test_scope_of_each_role(secretary_a, district_staff, volunteer, community_a, compound_a):
    assert scope_of(secretary_a).level == Level.COMMUNITY
    assert scope_of(secretary_a).place_id == community_a.pk
    assert scope_of(district_staff).level == Level.DISTRICT
    assert scope_of(volunteer).level == Level.COMPOUND
    assert scope_of(volunteer).place_id == compound_a.pk


def test_user_without_node_sees_nothing(db, compound_a):
    user = User.objects.create_user("nobody", password="x-Wuyi-2026", role="secretary")
    assert scope_of(user) == NOTHING
    assert not Compound.objects.visible_to(user).exists()


def test_inactive_user_sees_nothing(secretary_a, compound_a):
    secretary_a.is_active = False
    assert not Compound.objects.visible_to(secretary_a).exists()


def test_secretary_sees_only_her_community(secretary_a, secretary_b, compound_a, compound_b):
    assert list(Compound.objects.visible_to(secretary_a)) == [compound_a]
    assert list(Compound.objects.visible_to(secretary_b)) == [compound_b]
    assert set(Building.objects.visible_to(secretary_a)) == set(compound_a.buildings.all())
    assert list(Community.objects.visible_to(secretary_a)) == [compound_a.community]


def test_district_staff_see_the_whole_district(district_staff, compound_a, compound_b):
    assert set(Compound.objects.visible_to(district_staff)) == {compound_a, compound_b}
    assert Subdistrict.objects.visible_to(district_staff).count() == 1


def test_other_district_is_invisible(district_staff, compound_a):
    from tests.factories import CompoundFactory

    elsewhere = CompoundFactory()
    assert elsewhere not in Compound.objects.visible_to(district_staff)
    assert elsewhere.district not in District.objects.visible_to(district_staff)


@pytest.mark.parametrize("role_fixture", ["volunteer", "medic"])
def test_field_roles_see_their_compound(request, role_fixture, compound_a, compound_b):
    user = request.getfixturevalue(role_fixture)
    assert list(Compound.objects.visible_to(user)) == [compound_a]
    # Their ancestors are visible (for breadcrumbs), without duplicates.
    assert list(District.objects.visible_to(user)) == [compound_a.district]


def test_anonymous_sees_nothing(compound_a):
    from django.contrib.auth.models import AnonymousUser

    assert not Compound.objects.visible_to(AnonymousUser()).exists()
    assert not StatusChange.objects.visible_to(AnonymousUser()).exists()


def test_superuser_sees_everything(db, compound_a, compound_b):
    admin = User.objects.create_superuser("root", password="x-Wuyi-2026")
    assert Compound.objects.visible_to(admin).count() == 2


def test_users_see_only_themselves(secretary_a, secretary_b):
    assert list(User.objects.visible_to(secretary_a)) == [secretary_a]


def test_login_page_is_chinese_by_default(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()
    assert "登录" in response.content.decode()


def test_login_then_lockout_after_repeated_failures(client, secretary_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("login")
    for _ in range(3):
        response = client.post(url, {"username": secretary_a.username, "password": "wrong"})
    # Locked: even the right password is refused now.
    response = client.post(url, {"username": secretary_a.username, "password": "pw-Wuyi-2026"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_right_password_logs_in(client, secretary_a):
    response = client.post(
        reverse("login"), {"username": secretary_a.username, "password": "pw-Wuyi-2026"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(secretary_a.pk)


def test_csp_header_forbids_inline_script(client, db):
    response = client.get(reverse("login"))
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_language_switch_to_english(client, db):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("login")}, follow=True
    )
    assert 'lang="en"' in response.content.decode()
    assert "Log in" in response.content.decode()
