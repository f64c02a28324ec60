import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.access import NOTHING, get_visible_or_404, scope_of
from accounts.models import Level, Role, User
from compounds.models import (
    Building,
    Community,
    Compound,
    District,
    Posting,
    StatusChange,
    Subdistrict,
)
from compounds.services import posting_add, posting_remove
from tests.factories import CompoundFactory, UserFactory


def test_scope_of_each_role(secretary_a, district_staff, volunteer, community_a, compound_a):
    assert scope_of(secretary_a).single == (Level.COMMUNITY, community_a.pk)
    assert scope_of(district_staff).single[0] == Level.DISTRICT
    assert scope_of(volunteer).single == (Level.COMPOUND, compound_a.pk)


def test_postings_are_rows_with_real_foreign_keys(secretary_a, community_a):
    posting = Posting.objects.get(user=secretary_a)
    assert posting.community == community_a
    assert posting.level == Level.COMMUNITY and posting.place == community_a


def test_jurisdiction_is_the_union_of_postings(db, community_a, compound_a, compound_b):
    """A cadre sent down serves two communities; a volunteer two compounds of two teams."""
    cadre = UserFactory(role=Role.SECRETARY, posted_to=[community_a, compound_b.community])
    assert set(Compound.objects.visible_to(cadre)) == {compound_a, compound_b}
    # Reached through two postings, an ancestor is still listed once (no DISTINCT).
    assert list(District.objects.visible_to(cadre)) == [compound_a.district]
    assert list(Subdistrict.objects.visible_to(cadre)) == [compound_a.subdistrict]
    assert scope_of(cadre).single is None

    helper = UserFactory(role=Role.VOLUNTEER, posted_to=[compound_a])
    posting_add(user=helper, place=compound_b, via="team:1")
    assert set(Compound.objects.visible_to(helper)) == {compound_a, compound_b}
    assert set(Building.objects.visible_to(helper)) == set(
        Building.objects.filter(compound__in=[compound_a, compound_b])
    )
    # Posted at two levels at once: a community and a compound elsewhere.
    mixed = UserFactory(role=Role.SECRETARY, posted_to=[community_a, compound_b])
    assert set(Compound.objects.visible_to(mixed)) == {compound_a, compound_b}
    assert set(Community.objects.visible_to(mixed)) == {community_a, compound_b.community}


def test_removing_a_posting_takes_its_places_away(db, compound_a, compound_b):
    helper = UserFactory(role=Role.VOLUNTEER, posted_to=[compound_a])
    posting_add(user=helper, place=compound_b, via="team:1")
    posting_add(user=helper, place=compound_b, via="team:2")
    posting_remove(user=helper, place=compound_b, via="team:1")
    # Team 2 still serves compound B.
    assert set(Compound.objects.visible_to(helper)) == {compound_a, compound_b}
    posting_remove(user=helper, place=compound_b, via="team:2")
    assert list(Compound.objects.visible_to(helper)) == [compound_a]


def test_visible_to_is_one_query(db, community_a, compound_a, compound_b):
    cadre = UserFactory(role=Role.SECRETARY, posted_to=[community_a, compound_b.community])
    fresh = User.objects.get(pk=cadre.pk)
    with CaptureQueriesContext(connection) as queries:
        list(Building.objects.visible_to(fresh))
        list(Compound.objects.visible_to(fresh))
    # One read of the postings (then kept on the user object) and one query per list.
    assert len(queries) == 3


def test_posting_names_exactly_one_place(db, compound_a):
    from django.db import IntegrityError, transaction

    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(user=user, compound=compound_a, community=compound_a.community)
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.create(user=user)


def test_get_visible_or_404_answers_404_outside_and_403_inside(
    secretary_a, volunteer, compound_a, compound_b
):
    assert get_visible_or_404(Compound, secretary_a, pk=compound_a.pk) == compound_a
    with pytest.raises(Http404):
        get_visible_or_404(Compound, secretary_a, pk=compound_b.pk)
    with pytest.raises(Http404):  # outside the jurisdiction: 404 even for a forbidden action
        get_visible_or_404(Compound, volunteer, pk=compound_b.pk, may=lambda u: False)
    with pytest.raises(PermissionDenied):
        get_visible_or_404(Compound, volunteer, pk=compound_a.pk, may=lambda u: False)
    with pytest.raises(Http404):
        get_visible_or_404(Compound, secretary_a, pk="not-a-number")


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


def test_the_admin_speaks_the_apps_chinese(client, db, compound_a):
    admin = User.objects.create_superuser("root", password="x-Wuyi-2026")
    client.force_login(admin)
    page = client.get("/admin/compounds/compound/").content.decode()
    assert "选择要修改的小区" in page and "选择 小区 来修改" not in page
    index = client.get("/admin/").content.decode()
    assert "登录保护" in index and "登录尝试" in index and "Access attempts" not in index


def test_admin_dates_read_as_the_pages_write_them(client, db, compound_a):
    from django.utils import formats, translation

    with translation.override("zh-hans"):
        import datetime

        assert formats.date_format(datetime.date(2026, 11, 28)) == "2026-11-28"
