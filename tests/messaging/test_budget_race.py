"""The budget under concurrency, on PostgreSQL (SQLite serialises writers): two campaigns
racing for the last yuan, each in its own thread and connection; exactly one is charged."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from messaging import budgets, services
from messaging.models import Budget, Message, Recipient
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.django_db(transaction=True)

VARS = {"gate": "东门", "round": "3"}


def test_two_campaigns_racing_for_the_last_yuan_one_wins(compound_a, community_a, template):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")
    # Room for one campaign of three (0.14 yuan), not two.
    Budget.objects.create(community=community_a, monthly_amount=Decimal("0.20"))
    start = threading.Barrier(2)
    won: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            start.wait()
            message = services.send_sms(
                to=[f"1380000{n}{k:03d}" for k in range(3)],
                template=template,
                variables=VARS,
                purpose="campaign",
                idempotency_key=f"race:{n}",
                place=compound_a,
            )
            won.append(message.pk)
        except Refused as exc:
            refused.append(exc.code or "")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(won) == 1 and refused == ["over_budget"]
    # The loser wrote nothing; the counter holds exactly the winner's cost.
    assert list(Message.objects.values_list("pk", flat=True)) == won
    assert Recipient.objects.count() == 3
    assert budgets.budget_spent(community_a.pk, timezone.now()) == Decimal("0.135")
