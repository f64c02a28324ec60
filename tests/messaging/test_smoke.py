from messaging import services
from messaging.backends.simple import outbox
from messaging.models import Recipient
from tests.messaging.conftest import run_dispatch


def test_campaign_to_a_building_goes_out_once(secretary_a, compound_a, template, residents_a):
    b1 = compound_a.buildings.get(number="1")
    message = services.campaign_create(
        user=secretary_a,
        template_id=template.pk,
        variables={"gate": "东门", "round": "3"},
        audience="residents.buildings",
        targets=[str(b1.pk)],
    )
    assert message.recipient_count == 3
    report = run_dispatch()
    assert report.dispatched == 3
    assert sorted(m.phone for m in outbox.sent) == ["13800000001", "13800000002", "13800000003"]
    assert set(Recipient.objects.values_list("status", flat=True)) == {"sent"}
    assert str(run_dispatch()).startswith("dispatched 0 recipients in 0 batches")
