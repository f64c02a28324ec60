"""notify_by_sms: the one wrapper every app's notify.py texts through. A refusal never reaches
the caller (logged by template, never with the number), values are cut only when asked."""

import logging

from messaging.models import Allowance, Message
from messaging.services import OneSms, notify_by_sms

LONG = "东岗西路街道团结新村社区天庆丽舍小区北门外临时采样点" * 2  # 52 characters


def test_one_number_once_on_the_system_allowance(compound_a, template):
    args = {
        "to": "13800000001",
        "template": template.name,
        "variables": {"gate": "东门", "round": "3"},
        "purpose": "t",
        "idempotency_key": "t:1",
        "place": compound_a,
    }
    assert notify_by_sms(**args) == 1
    assert notify_by_sms(**args) == 1  # the same key: the first message, nothing more
    message = Message.objects.get()
    assert message.allowance == Allowance.SYSTEM and message.recipient_count == 1


def test_a_refusal_is_logged_not_raised(compound_a, unapproved, caplog):
    with caplog.at_level(logging.WARNING):
        sent = notify_by_sms(
            to="13800000002",
            template=unapproved.name,
            variables={"time": "8:00", "place": "东门"},
            purpose="t",
            idempotency_key="t:2",
            place=compound_a,
        )
    assert sent == 0 and not Message.objects.exists()
    assert unapproved.name in caplog.text and "13800000002" not in caplog.text


def test_long_values_are_cut_only_when_asked(compound_a, template):
    args = {"template": template.name, "purpose": "t", "place": compound_a}
    variables = {"gate": LONG, "round": "3"}
    assert notify_by_sms(to="13800000003", variables=variables, idempotency_key="a", **args) == 0
    sent = notify_by_sms(
        to="13800000003", variables=variables, idempotency_key="b", cut=True, **args
    )
    assert sent == 1
    gate = Message.objects.get().variables["gate"]
    assert len(gate) == 35 and gate.endswith("…") and LONG.startswith(gate[:-1])


def test_many_numbers_each_its_own_key(compound_a, template):
    items = [
        OneSms(
            to=f"1380000001{n}", variables={"gate": "东门", "round": "3"}, idempotency_key=f"m:{n}"
        )
        for n in range(3)
    ]
    args = {"template": template.name, "purpose": "t", "place": compound_a}
    assert notify_by_sms(to=items, **args) == 3
    assert notify_by_sms(to=items, **args) == 0  # every key used: nothing more
    assert Message.objects.count() == 3
