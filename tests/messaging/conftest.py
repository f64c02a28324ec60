import pytest

from messaging import outbox as engine
from messaging import services
from messaging.backends.simple import outbox
from messaging.models import SmsTemplate
from residents.models import Household, Resident

NUCLEIC = "明日8:00在{gate}开展第{round}轮核酸检测，请携带身份证按时参加。"


@pytest.fixture(autouse=True)
def _sms_settings(settings):
    """Locmem backend, no quiet hours unless a test sets them, no rate limit."""
    settings.WUYI_SMS_BACKEND = "locmem"
    settings.WUYI_SMS_QUIET_HOURS = ""
    settings.WUYI_SMS_RATE_LIMIT = 0
    outbox.clear()
    yield
    outbox.clear()


@pytest.fixture
def template(db):
    return SmsTemplate.objects.create(
        name="核酸检测通知", code="SMS_100001", body=NUCLEIC, approved=True
    )


@pytest.fixture
def unapproved(db):
    return SmsTemplate.objects.create(
        name="未审核模板", code="SMS_100002", body="请于{time}到{place}领取物资。", approved=False
    )


@pytest.fixture
def residents_a(compound_a):
    """Six residents in building 1 of compound A (one landline, one without a phone, two
    sharing a number) and two in building 2."""
    b1, b2 = compound_a.buildings.order_by("number")
    made = []
    phones = ["13800000001", "13800000002", "13800000003", "13800000003", "0931-8123456", ""]
    for n, phone in enumerate(phones):
        home = Household.objects.create(compound=compound_a, building=b1, unit="1", room=f"10{n}")
        made.append(Resident.objects.create(household=home, name=f"居民{n}", phone=phone))
    for n, phone in enumerate(["13900000001", "13900000002"]):
        home = Household.objects.create(compound=compound_a, building=b2, unit="1", room=f"20{n}")
        made.append(Resident.objects.create(household=home, name=f"二号楼{n}", phone=phone))
    return made


def run_dispatch(**kwargs):
    """The dispatcher with each batch sent at once, in this process."""
    return engine.dispatch(publish=lambda batch_id: engine.batch_send(batch_id=batch_id), **kwargs)


def send_one(template, compound, *, key="t", to="13800000061", **kwargs):
    """One SMS of the test template (variables gate 东门, round 3) to one number, through
    send_sms as another app sends it; `kwargs`: send_at, urgent..."""
    return services.send_sms(
        to=to,
        template=template,
        variables={"gate": "东门", "round": "3"},
        purpose="t",
        idempotency_key=key,
        place=compound,
        **kwargs,
    )
