"""Smaller promises of the personal-data issue: no caching, 401 for anonymous API requests,
a production that refuses to start without its own key, and key rotation."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from residents import services
from residents.models import Household, Resident
from tests.residents.helpers import make_id
from wuyi.lib import pii


def test_anonymous_api_request_is_401_with_a_challenge(client, db):
    response = client.get(reverse("resident-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_personal_pages_and_api_answers_are_not_stored(login, secretary_a, compound_a):
    client = login(secretary_a)
    for url in (reverse("residents:list"), reverse("resident-list"), reverse("compounds:list")):
        assert "no-store" in client.get(url)["Cache-Control"], url


def test_check_deploy_fails_without_the_personal_data_key(settings):
    settings.WUYI_PII_KEY = ""
    errors = pii.check_key()
    assert [e.id for e in errors] == ["wuyi.E001"]
    settings.WUYI_PII_KEY = "set"
    assert pii.check_key() == []


def _reset_keys():
    for cached in (pii._fernets, pii._multi, pii._hash_key):
        cached.cache_clear()


@pytest.fixture
def keys(settings):
    """Swap the personal-data key for the test, and put it back afterwards."""
    original = settings.WUYI_PII_KEY

    def use(value: str) -> None:
        settings.WUYI_PII_KEY = value
        _reset_keys()

    yield use
    settings.WUYI_PII_KEY = original
    _reset_keys()


def test_no_key_with_debug_off_refuses_to_encrypt(keys, settings):
    settings.DEBUG = False
    keys("")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        pii.encrypt("x")


def test_rotate_pii_key_re_encrypts_once(keys, secretary_a, compound_a):
    keys("old-key")
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), room="1"
    )
    nid = make_id(3, "19700101")
    person = services.resident_save(
        by=secretary_a, household=home, data={"name": "王芳"}, national_id=nid
    )
    old_cipher, old_hash = person.id_cipher, person.id_hash
    keys("new-key,old-key")
    assert Resident.objects.get(pk=person.pk).national_id == nid  # old values still read
    out = StringIO()
    call_command("rotate_pii_key", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "re-encrypted 1 residents, 0 already current"
    person.refresh_from_db()
    assert person.id_cipher != old_cipher and person.id_hash != old_hash
    assert person.id_hash == pii.keyed_hash(nid)
    out = StringIO()
    call_command("rotate_pii_key", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "re-encrypted 0 residents, 1 already current"
    keys("new-key")  # the old key dropped: everything still reads
    assert Resident.objects.get(pk=person.pk).national_id == nid
