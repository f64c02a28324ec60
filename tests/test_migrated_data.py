"""What data migrations write (the SMS texts each app sends) is there for every test, the
transactional ones too: a browser test flushes the database when it ends, and the next one
must not find the texts gone (then nothing it sends would go out)."""

import pytest

from medical import notify as medical_notify
from messaging.models import SmsTemplate
from sanitation import notify as sanitation_notify
from supplies import notify as supplies_notify
from volunteers import notify as volunteers_notify

TEXTS = {
    sanitation_notify.OVERDUE,
    sanitation_notify.ESCALATED,
    volunteers_notify.LOGIN_LINK,
    medical_notify.PICKUP,
    medical_notify.CREW,
    *supplies_notify.TEXTS,
}


@pytest.mark.django_db
def test_the_migrations_create_every_text_unapproved():
    found = dict(SmsTemplate.objects.filter(name__in=TEXTS).values_list("name", "approved"))
    assert found == dict.fromkeys(TEXTS, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])
def test_a_transactional_test_finds_them_after_another_flushed(run):
    assert set(SmsTemplate.objects.filter(name__in=TEXTS).values_list("name", flat=True)) == TEXTS
    SmsTemplate.objects.all().delete()  # what the flush after this test does, and more
