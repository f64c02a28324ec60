"""Login lock-out per user name and address (5 failures), and per address across user names:
a spray over volunteers' user names (their phone numbers) from one address is stopped."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Role
from tests.factories import UserFactory

PASSWORD = "pw-Wuyi-2026"


@pytest.fixture
def volunteers(compound_a):
    return [
        UserFactory(username=f"1389311{n:04d}", role=Role.VOLUNTEER, posted_to=compound_a)
        for n in range(3)
    ]


def fail(client, username: str, address: str = "10.0.0.7"):
    return client.post(
        reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR=address
    )


def login(client, username: str, address: str = "10.0.0.7"):
    return client.post(
        reverse("login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=address
    )


def test_a_spray_over_many_user_names_from_one_address_is_locked_out(
    client, secretary_a, volunteers
):
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    assert settings.AXES_FAILURE_LIMIT < limit <= 50
    # One guess per user name: never 5 for one name, so the per-name lock never trips.
    for n in range(limit - 1):
        assert fail(client, f"1390000{n:04d}").status_code == 200, n
    # The limit-th failure locks the address: it, the next guess and even a right password
    # are refused.
    assert fail(client, f"1390000{limit:04d}").status_code == 429
    assert fail(client, volunteers[0].username).status_code == 429
    assert login(client, secretary_a.username).status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address is not.
    response = login(client, volunteers[1].username, address="10.0.0.8")
    assert response.status_code == 302


def test_a_login_of_ones_own_does_not_reset_the_addresss_count(client, secretary_a):
    """The attacker's own account logging in between guesses must not wipe the address's
    failures (axes' reset on success would, for every parameter set)."""
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    for n in range(limit - 1):
        fail(client, f"1390000{n:04d}")
    assert login(client, secretary_a.username).status_code == 302
    client.logout()
    fail(client, "13900009999")
    assert login(client, secretary_a.username).status_code == 429


def test_below_the_address_limit_a_user_name_still_locks_at_five(client, secretary_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, secretary_a.username)
    assert login(client, secretary_a.username).status_code == 429
    # The address as a whole is not locked: another user name from it still logs in.
    other = UserFactory(username="13893110001", role=Role.VOLUNTEER)
    assert login(client, other.username).status_code == 302
