"""The SMS budgets page: district staff list their communities' monthly budgets (spent of the
limit, per line) and set one, through budgets.budget_set and its checks; nobody else may, and
the admin shows budgets read-only."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Role
from messaging import budgets, rules
from messaging.models import Allowance, Budget, Spending
from tests.factories import DistrictFactory, SubdistrictFactory, UserFactory
from wuyi.lib.errors import Refused

GOOD = {"monthly_amount": "500", "system_amount": "120.50", "public_amount": "", "note": "专项"}


def test_district_staff_see_each_community_spent_of_its_limit(
    login, district_staff, community_a, community_b, secretary_a
):
    Budget.objects.create(community=community_a, monthly_amount=Decimal("300"))
    Spending.objects.create(
        community=community_a,
        month=budgets.month_of(timezone.now()),
        allowance=Allowance.CAMPAIGN,
        spent=Decimal("12.345"),
    )
    page = login(district_staff).get("/messaging/budgets/")
    assert page.status_code == 200
    rows = {row.community.pk: row for row in page.context["rows"]}
    assert set(rows) == {community_a.pk, community_b.pk}
    _label, spent, limit, default = rows[community_a.pk].lines[0]
    assert (spent, limit, default) == (Decimal("12.345"), Decimal("300"), False)
    assert rows[community_b.pk].lines[0][2:] == (rules.budget_default(Allowance.CAMPAIGN), True)
    assert f"/messaging/budgets/{community_a.pk}/" in page.content.decode()
    # Linked from the SMS page, for district staff only.
    assert "/messaging/budgets/" in login(district_staff).get("/messaging/").content.decode()
    assert "/messaging/budgets/" not in login(secretary_a).get("/messaging/").content.decode()


def test_district_staff_set_a_budget(login, district_staff, community_a):
    client = login(district_staff)
    assert client.get(f"/messaging/budgets/{community_a.pk}/").status_code == 200
    response = client.post(f"/messaging/budgets/{community_a.pk}/", GOOD)
    assert response.status_code == 302 and response["Location"] == "/messaging/budgets/"
    budget = Budget.objects.get(community=community_a)
    assert budget.monthly_amount == Decimal("500") and budget.system_amount == Decimal("120.50")
    assert budget.public_amount is None and budget.note == "专项"
    limits = budgets.budget_limits(community_a.pk)
    assert limits[Allowance.CAMPAIGN] == Decimal("500")
    assert limits[Allowance.PUBLIC] == rules.budget_default(Allowance.PUBLIC)  # empty
    # Set again: the same row, the new amount.
    client.post(f"/messaging/budgets/{community_a.pk}/", {**GOOD, "monthly_amount": "0"})
    assert Budget.objects.get(community=community_a).monthly_amount == Decimal("0")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monthly_amount", "-1"),
        ("monthly_amount", ""),
        ("monthly_amount", "abc"),
        ("monthly_amount", "1.234"),
        ("monthly_amount", "100000000"),
        ("monthly_amount", "NaN"),
        ("system_amount", "-0.01"),
        ("public_amount", "1e400"),
    ],
)
def test_bad_amounts_are_refused_and_change_nothing(
    login, district_staff, community_a, field, value
):
    Budget.objects.create(community=community_a, monthly_amount=Decimal("300"))
    response = login(district_staff).post(
        f"/messaging/budgets/{community_a.pk}/", {**GOOD, field: value}
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    budget = Budget.objects.get(community=community_a)
    assert budget.monthly_amount == Decimal("300") and budget.system_amount is None


def test_only_district_staff_open_the_page(
    login, client, secretary_a, volunteer, subdistrict, community_a
):
    sub_staff = UserFactory(username="sub", role=Role.SUBDISTRICT_STAFF, posted_to=subdistrict)
    for user in (secretary_a, volunteer, sub_staff):
        page = login(user)
        assert page.get("/messaging/budgets/").status_code == 403
        assert page.get(f"/messaging/budgets/{community_a.pk}/").status_code == 403
        assert page.post(f"/messaging/budgets/{community_a.pk}/", GOOD).status_code == 403
    client.logout()
    assert client.get("/messaging/budgets/").status_code == 302  # to the login page
    assert not Budget.objects.exists()


def test_another_districts_staff_neither_see_nor_set_it(login, community_a, community_b):
    other = DistrictFactory(code="620103", name="七里河区")
    SubdistrictFactory(district=other, code="620103001", name="西园街道")
    staff = UserFactory(username="dist2", role=Role.DISTRICT_STAFF, posted_to=other)
    client = login(staff)
    assert client.get("/messaging/budgets/").context["rows"] == []
    assert client.get(f"/messaging/budgets/{community_a.pk}/").status_code == 404
    assert client.post(f"/messaging/budgets/{community_a.pk}/", GOOD).status_code == 404
    with pytest.raises(PermissionDenied):
        budgets.budget_set(by=staff, community=community_a, amount="5")
    assert not Budget.objects.exists()


def test_budget_set_checks_whoever_calls_it(district_staff, secretary_a, community_a):
    with pytest.raises(PermissionDenied):
        budgets.budget_set(by=secretary_a, community=community_a, amount="5")
    with pytest.raises(Refused) as refused:
        budgets.budget_set(
            by=district_staff, community=community_a, amount=Decimal("-5"), public_amount="x"
        )
    assert set(refused.value.errors) == {"monthly_amount", "public_amount"}
    assert not Budget.objects.exists()
    budget = budgets.budget_set(by=district_staff, community=community_a, amount=Decimal("7.5"))
    assert budget.monthly_amount == Decimal("7.5")


def test_the_admin_shows_budgets_read_only(client, community_a):
    budget = Budget.objects.create(community=community_a, monthly_amount=Decimal("300"))
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    url = f"/admin/messaging/budget/{budget.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="monthly_amount"' not in page.content.decode()
    client.post(url, {"community": community_a.pk, "monthly_amount": "-5"})
    assert Budget.objects.get().monthly_amount == Decimal("300")
    assert client.get("/admin/messaging/budget/add/").status_code == 403
