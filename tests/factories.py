"""factory_boy factories, one per model that has visible_to.

The convention the URL walk relies on (tests/test_url_walk.py): for every model whose manager
has ``visible_to`` there is a ``<Model>Factory`` here, and calling it with ``compound=<a
compound>`` makes a row that lies under that compound and carries the compound's name in a text
the pages show (so community A's rows carry the marker ALPHA). Place-tree models are made by the
fixtures themselves; their factories take ``compound`` as any other and make a fresh row.
"""

import factory
from django.utils import timezone

from accounts.models import Alert, Role, User
from compounds.models import (
    Building,
    Community,
    Compound,
    District,
    Posting,
    StatusChange,
    Subdistrict,
)
from residents.models import (
    Household,
    ImportJob,
    PersonalDataAccess,
    Resident,
    VulnerableTag,
)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        exclude = ("compound",)

    compound = None
    code = factory.Sequence(lambda n: f"62{n:04d}")
    name = factory.Sequence(lambda n: f"区{n}")


class SubdistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subdistrict
        exclude = ("compound",)

    compound = None
    district = factory.SubFactory(DistrictFactory)
    code = factory.Sequence(lambda n: f"S{n:06d}")
    name = factory.Sequence(lambda n: f"街道{n}")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        exclude = ("compound",)

    compound = None
    subdistrict = factory.SubFactory(SubdistrictFactory)
    code = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"社区{n}")


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compound
        exclude = ("compound",)

    compound = None
    community = factory.LazyAttribute(
        lambda o: o.compound.community if o.compound else CommunityFactory()
    )
    code = factory.Sequence(lambda n: f"K{n:06d}")
    name = factory.Sequence(lambda n: f"小区{n}")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    compound = factory.SubFactory(CompoundFactory)
    number = factory.Sequence(lambda n: str(n + 1))
    name = factory.LazyAttribute(lambda o: f"{o.number}号楼")
    unit_count = 2
    floor_count = 6


class UserFactory(factory.django.DjangoModelFactory):
    """posted_to=<place> (or a list of places) posts the user there; compound=<compound> makes
    a volunteer posted there, named after it."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    @classmethod
    def create(cls, **kwargs):
        compound = kwargs.pop("compound", None)
        if compound is not None:
            kwargs.setdefault("posted_to", compound)
            kwargs.setdefault("role", Role.VOLUNTEER)
            kwargs.setdefault("username", f"{compound.name}_{User.objects.count() + 1}")
        return super().create(**kwargs)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SECRETARY
    password = factory.PostGenerationMethodCall("set_password", "pw-Wuyi-2026")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    @factory.post_generation
    def posted_to(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            from compounds.services import posting_add

            for place in extracted if isinstance(extracted, list | tuple) else [extracted]:
                posting_add(user=obj, place=place)


class PostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Posting

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(
        lambda o: UserFactory(username=f"{o.compound.name}_志愿者", role=Role.VOLUNTEER)
    )


def _secretary_of(compound):
    """The compound's community secretary (the first posted), or a new one."""
    from compounds.selectors import users_posted_at

    found = users_posted_at("community", compound.community_id, roles=[Role.SECRETARY])
    if found:
        return found[0]
    return UserFactory(role=Role.SECRETARY, posted_to=compound.community)


class AlertFactory(factory.django.DjangoModelFactory):
    """An alert to the compound's secretary about the compound (compound= is not a field)."""

    class Meta:
        model = Alert
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(lambda o: _secretary_of(o.compound))
    text = factory.LazyAttribute(lambda o: f"{o.compound.name}：3个消杀点位逾期未完成")
    link = factory.LazyAttribute(lambda o: f"/compounds/{o.compound.pk}/")
    key = factory.Sequence(lambda n: f"tests:alert:{n}")


class StatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusChange

    compound = factory.SubFactory(CompoundFactory)
    from_status = "normal"
    to_status = "precautionary"
    reason = factory.LazyAttribute(lambda o: f"{o.compound.name} 核酸检测")
    changed_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.DISTRICT_STAFF))


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    compound = factory.SubFactory(CompoundFactory)
    building = factory.LazyAttribute(
        lambda o: o.compound.buildings.first() or BuildingFactory(compound=o.compound)
    )
    unit = "1"
    room = factory.Sequence(lambda n: str(9001 + n))
    notes = factory.LazyAttribute(lambda o: f"{o.compound.name}")


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    household = factory.LazyAttribute(lambda o: HouseholdFactory(compound=o.compound))
    name = factory.LazyAttribute(lambda o: f"{o.compound.name}居民")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    notes = factory.LazyAttribute(lambda o: o.compound.name)


class VulnerableTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VulnerableTag
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    category = "disabled"
    details = factory.LazyAttribute(lambda o: o.compound.name)


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    compound = factory.SubFactory(CompoundFactory)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    user = factory.LazyAttribute(lambda o: UserFactory(posted_to=o.compound.community))
    filename = factory.LazyAttribute(lambda o: f"{o.compound.name}.xlsx")
    path = "/nonexistent"
    state = ImportJob.State.CHECKED
    report = factory.LazyAttribute(
        lambda o: {"total_rows": 1, "errors": [{"row": 3, "column": "姓名", "message": o.filename}]}
    )


class PersonalDataAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalDataAccess
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(lambda o: UserFactory(posted_to=o.compound.community))
    kind = PersonalDataAccess.Kind.VIEW
    district = factory.LazyAttribute(lambda o: o.compound.district)
    subdistrict = factory.LazyAttribute(lambda o: o.compound.subdistrict)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    detail = factory.LazyAttribute(lambda o: {"note": o.compound.name})
    at = factory.LazyFunction(timezone.now)


# ----------------------------------------------------------------------------- volunteers


def _volunteer_for(compound, name_suffix="志愿者"):
    from volunteers.models import Volunteer

    user = UserFactory(username=f"{compound.name}_{User.objects.count() + 1}", role=Role.VOLUNTEER)
    return Volunteer.objects.create(
        user=user,
        community=compound.community,
        name=f"{compound.name}{name_suffix}"[:50],
        phone=f"139{User.objects.count():08d}",
    )


class VolunteerFactory(factory.django.DjangoModelFactory):
    """compound=: a volunteer of that compound's community, in a team serving it."""

    class Meta:
        model = "volunteers.Volunteer"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Membership, Team

        compound = kwargs.pop("compound", None) or CompoundFactory()
        volunteer = _volunteer_for(compound)
        team, _ = Team.objects.get_or_create(
            community=compound.community,
            name=f"{compound.name}志愿服务队",
            defaults={"kind": "youth"},
        )
        team.compounds.add(compound)
        Membership.objects.create(team=team, volunteer=volunteer)
        return volunteer


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Team"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Team

        compound = kwargs.pop("compound", None) or CompoundFactory()
        team = Team.objects.create(
            community=compound.community,
            name=f"{compound.name}先锋队{Team.objects.count()}",
            kind="party_vanguard",
        )
        team.compounds.add(compound)
        return team


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Membership"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Membership

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Membership.objects.create(
            team=TeamFactory(compound=compound), volunteer=_volunteer_for(compound, "队员")
        )


class PartyBranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.PartyBranch"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import PartyBranch

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return PartyBranch.objects.create(
            community=compound.community,
            compound=compound,
            name=f"{compound.name}临时党支部",
            chat_group=f"{compound.name}群",
        )


class ShiftTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.ShiftTemplate"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from volunteers.models import ShiftTemplate

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return ShiftTemplate.objects.create(
            compound=compound,
            name=f"{compound.name}门岗{ShiftTemplate.objects.count()}"[:40],
            starts=datetime.time(8),
            ends=datetime.time(12),
        )


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Shift"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from volunteers.models import Shift

        compound = kwargs.pop("compound", None) or CompoundFactory()
        day = timezone.localdate()
        starts = timezone.make_aware(datetime.datetime.combine(day, datetime.time(14)))
        return Shift.objects.create(
            compound=compound,
            name=f"{compound.name}配送"[:40],
            date=day,
            starts_at=starts,
            ends_at=starts + datetime.timedelta(hours=4),
        )


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Assignment"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Assignment

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Assignment.objects.create(
            shift=ShiftFactory(compound=compound), volunteer=VolunteerFactory(compound=compound)
        )


class PositiveCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "compounds.PositiveCase"

    compound = factory.SubFactory(CompoundFactory)
    found_on = factory.LazyFunction(timezone.localdate)
    note = factory.LazyAttribute(lambda o: f"{o.compound.name}发现1例阳性")
    recorded_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.SECRETARY))


class CategoryMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "residents.CategoryMapping"
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    word = factory.LazyAttribute(lambda o: f"{o.compound.name}低保"[:40])
    category = "other"
    created_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.SECRETARY))


# ----------------------------------------------------------------------------- sanitation


class AreaFactory(factory.django.DjangoModelFactory):
    """compound=: an area of that compound, named after it (rounds at 08:00 and 14:00)."""

    class Meta:
        model = "sanitation.Area"

    @classmethod
    def create(cls, **kwargs):
        from sanitation.models import Area

        compound = kwargs.pop("compound", None) or CompoundFactory()
        defaults = {
            "compound": compound,
            "kind": "lift",
            "name": f"{compound.name}电梯{Area.objects.count() + 1}"[:60],
            "method": "wipe",
            "times": ["08:00", "14:00"],
            "window_minutes": 60,
        }
        defaults.update(kwargs)
        return Area.objects.create(**defaults)


class RoundFactory(factory.django.DjangoModelFactory):
    """compound=: a round today at 14:00 of a new area of that compound. area=, at=, assignee=
    as wanted."""

    class Meta:
        model = "sanitation.Round"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from sanitation.models import Round

        area = kwargs.pop("area", None) or AreaFactory(compound=kwargs.pop("compound", None))
        kwargs.pop("compound", None)
        day = kwargs.pop("date", None) or timezone.localdate()
        at = kwargs.pop("at", datetime.time(14))
        due = timezone.make_aware(datetime.datetime.combine(day, at))
        return Round.objects.create(
            area=area,
            compound=area.compound,
            date=day,
            due_at=due,
            window_ends_at=due + datetime.timedelta(minutes=area.window_minutes),
            note=kwargs.pop("note", area.compound.name),
            **kwargs,
        )


class WasteRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sanitation.WasteRecord"

    @classmethod
    def create(cls, **kwargs):
        from sanitation.models import WasteRecord

        compound = kwargs.pop("compound", None) or CompoundFactory()
        area = AreaFactory(compound=compound, kind="medical_waste", method="spray")
        return WasteRecord.objects.create(
            area=area,
            compound=compound,
            date=timezone.localdate(),
            bags=2,
            note=compound.name,
        )


# ----------------------------------------------------------------------------- messaging


def _sms_template():
    from messaging.models import SmsTemplate

    # City-wide, seen by every secretary: never carries a compound's name.
    template, _ = SmsTemplate.objects.get_or_create(
        name="走查通知",
        defaults={"code": "SMS_000001", "body": "请于{time}到东门领取物资。", "approved": True},
    )
    return template


class MessageFactory(factory.django.DjangoModelFactory):
    """compound=: a campaign to that compound, described by its name."""

    class Meta:
        model = "messaging.Message"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import Message

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Message.objects.create(
            template=_sms_template(),
            variables={"time": "明天9点"},
            purpose="campaign",
            audience="residents.compound",
            description=f"{compound.name}全体居民",
            district_id=compound.district_id,
            subdistrict_id=compound.subdistrict_id,
            community_id=compound.community_id,
            compound=compound,
            send_at=timezone.now(),
            recipient_count=1,
        )


class RecipientFactory(factory.django.DjangoModelFactory):
    """compound=: a failed SMS of a campaign to that compound (its error names the compound)."""

    class Meta:
        model = "messaging.Recipient"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import Recipient

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Recipient.objects.create(
            message=MessageFactory(compound=compound),
            phone=f"137{Recipient.objects.count():08d}",
            status="failed",
            due_at=timezone.now(),
            attempts=1,
            last_error=f"{compound.name}: 空号",
        )


class OptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.OptOut"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import OptOut
        from wuyi.lib import pii

        compound = kwargs.pop("compound", None) or CompoundFactory()
        phone = f"136{OptOut.objects.count():08d}"
        return OptOut.objects.create(
            phone_hash=pii.keyed_hash(phone),
            phone_last4=phone[-4:],
            note=f"{compound.name}居民来电要求",
            community=compound.community,
        )


class BudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.Budget"

    @classmethod
    def create(cls, **kwargs):
        from decimal import Decimal

        from messaging.models import Budget

        compound = kwargs.pop("compound", None) or CompoundFactory()
        budget, _ = Budget.objects.update_or_create(
            community=compound.community,
            defaults={"monthly_amount": Decimal("500"), "note": f"{compound.name}专项"},
        )
        return budget


# ----------------------------------------------------------------------------- medical


class HospitalFactory(factory.django.DjangoModelFactory):
    """compound=: a hospital designated for that compound only, named after it."""

    class Meta:
        model = "medical.Hospital"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import Hospital

        compound = kwargs.pop("compound", None)
        compounds = kwargs.pop("compounds", [compound] if compound else [])
        districts = kwargs.pop("districts", [])
        n = Hospital.objects.count() + 1
        defaults = {
            "name": f"{compound.name if compound else '市'}第{n}医院",
            "services": ["dialysis", "emergency", "maternity", "chemotherapy", "general"],
        }
        defaults.update(kwargs)
        hospital = Hospital.objects.create(**defaults)
        hospital.compounds.set(compounds)
        hospital.districts.set(districts)
        return hospital


class MedicalStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "medical.MedicalStaff"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import MedicalStaff

        compound = kwargs.pop("compound", None) or CompoundFactory()
        defaults = {"compound": compound, "name": f"{compound.name}医生", "role": "doctor"}
        defaults.update(kwargs)
        return MedicalStaff.objects.create(**defaults)


class AmbulanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "medical.Ambulance"

    @classmethod
    def create(cls, **kwargs):
        from medical.models import Ambulance

        compound = kwargs.pop("compound", None) or CompoundFactory()
        crew = kwargs.pop("crew", [])
        defaults = {
            "compound": compound,
            "plate": f"甘A{Ambulance.objects.count() + 12001}",
            "driver_name": f"{compound.name}司机",
        }
        defaults.update(kwargs)
        ambulance = Ambulance.objects.create(**defaults)
        ambulance.crew.set(crew)
        return ambulance


class ScheduleFactory(factory.django.DjangoModelFactory):
    """compound=: a dialysis schedule Mon/Wed/Fri 07:30 of a resident of that compound."""

    class Meta:
        model = "medical.Schedule"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from medical.models import Schedule

        compound = kwargs.pop("compound", None)
        resident = kwargs.pop("resident", None) or ResidentFactory(
            compound=compound or CompoundFactory()
        )
        defaults = {
            "compound_id": resident.compound_id,
            "resident": resident,
            "kind": "dialysis",
            "weekdays": [0, 2, 4],
            "time": datetime.time(7, 30),
            "hospital": kwargs.pop("hospital", None) or HospitalFactory(compound=resident.compound),
            "start_date": timezone.localdate(),
            "notes": resident.compound.name,
        }
        defaults.update(kwargs)
        return Schedule.objects.create(**defaults)


class EscortFactory(factory.django.DjangoModelFactory):
    """compound=: a requested dialysis escort tomorrow 07:30 of a resident of that compound."""

    class Meta:
        model = "medical.Escort"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from medical.models import Escort

        compound = kwargs.pop("compound", None)
        resident = kwargs.pop("resident", None) or ResidentFactory(
            compound=compound or CompoundFactory()
        )
        at = kwargs.pop("scheduled_at", None) or timezone.make_aware(
            datetime.datetime.combine(
                timezone.localdate() + datetime.timedelta(days=1), datetime.time(7, 30)
            )
        )
        defaults = {
            "compound_id": resident.compound_id,
            "resident": resident,
            "kind": "dialysis",
            "pickup": "1号楼1单元",
            "scheduled_at": at,
            "expected_return_at": at + datetime.timedelta(hours=4),
            "notes": resident.compound.name,
            "steps": [{"status": "requested", "at": at.isoformat(), "by": None, "by_name": ""}],
        }
        defaults.update(kwargs)
        return Escort.objects.create(**defaults)


# ----------------------------------------------------------------------------- supplies


class SupplierFactory(factory.django.DjangoModelFactory):
    """compound=: a supplier of that compound's community, named after the compound."""

    class Meta:
        model = "supplies.Supplier"

    @classmethod
    def create(cls, **kwargs):
        from supplies.models import Supplier

        compound = kwargs.pop("compound", None) or CompoundFactory()
        defaults = {
            "community": compound.community,
            "name": f"{compound.name}供应商{Supplier.objects.count() + 1}"[:80],
        }
        defaults.update(kwargs)
        return Supplier.objects.create(**defaults)


class CatalogueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "supplies.CatalogueItem"

    @classmethod
    def create(cls, **kwargs):
        from decimal import Decimal

        from supplies.models import CatalogueItem

        compound = kwargs.pop("compound", None) or CompoundFactory()
        supplier = kwargs.pop("supplier", None) or SupplierFactory(compound=compound)
        defaults = {
            "supplier": supplier,
            "name": f"{compound.name}大米{CatalogueItem.objects.count() + 1}"[:60],
            "unit": "袋",
            "price": Decimal("45.00"),
        }
        defaults.update(kwargs)
        return CatalogueItem.objects.create(**defaults)


class GroupBuyFactory(factory.django.DjangoModelFactory):
    """compound=: an open group buy serving that compound (deadline tomorrow), with two items:
    rice at 45.00 and oil at 70.00."""

    class Meta:
        model = "supplies.GroupBuy"

    @classmethod
    def create(cls, **kwargs):
        import datetime
        from decimal import Decimal

        from supplies.models import GroupBuy, GroupBuyItem

        compound = kwargs.pop("compound", None) or CompoundFactory()
        supplier = kwargs.pop("supplier", None) or SupplierFactory(compound=compound)
        deadline = kwargs.pop("deadline", None) or timezone.now() + datetime.timedelta(days=1)
        buy = GroupBuy.objects.create(
            community=compound.community,
            supplier=supplier,
            title=kwargs.pop("title", f"{compound.name}团购"[:80]),
            deadline=deadline,
            delivery_date=timezone.localdate(deadline) + datetime.timedelta(days=1),
            created_by=kwargs.pop("created_by", None)
            or UserFactory(role=Role.SECRETARY, posted_to=compound.community),
            **kwargs,
        )
        buy.compounds.add(compound)
        GroupBuyItem.objects.create(
            group_buy=buy, name="大米", unit="袋", price=Decimal("45.00"), position=0
        )
        GroupBuyItem.objects.create(
            group_buy=buy, name="食用油", unit="桶", price=Decimal("70.00"), position=1
        )
        return buy


class OrderFactory(factory.django.DjangoModelFactory):
    """compound=: a submitted group-buy order of a household of that compound (one bag of
    rice), its note naming the compound. household=, group_buy=, status= as wanted."""

    class Meta:
        model = "supplies.Order"

    @classmethod
    def create(cls, **kwargs):
        import uuid

        from supplies.models import Order, OrderEvent, OrderLine

        compound = kwargs.pop("compound", None)
        household = kwargs.pop("household", None)
        if household is None:
            compound = compound or CompoundFactory()
            household = HouseholdFactory(compound=compound)
        buy = kwargs.pop("group_buy", None) or GroupBuyFactory(compound=household.compound)
        order = Order.objects.create(
            compound=household.compound,
            building=household.building,
            household=household,
            kind="group_buy",
            group_buy=buy,
            client_key=uuid.uuid4().hex,
            note=kwargs.pop("note", household.compound.name[:200]),
            amount_due=buy.items.first().price,
            **kwargs,
        )
        OrderLine.objects.create(order=order, item=buy.items.first(), quantity=1, price=45)
        OrderEvent.objects.create(order=order, status=order.status)
        return order


class ProxyPurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "supplies.ProxyPurchase"

    @classmethod
    def create(cls, **kwargs):
        import uuid

        from supplies.models import Order, ProxyPurchase

        compound = kwargs.pop("compound", None) or CompoundFactory()
        household = HouseholdFactory(compound=compound)
        order = Order.objects.create(
            compound=compound,
            building=household.building,
            household=household,
            kind="proxy",
            client_key=uuid.uuid4().hex,
            note=compound.name[:200],
        )
        return ProxyPurchase.objects.create(order=order, items=f"{compound.name}：布洛芬一盒")


class OrderLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "supplies.OrderLink"

    @classmethod
    def create(cls, **kwargs):
        import secrets

        from supplies.models import OrderLink

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return OrderLink.objects.create(
            compound=compound,
            token=secrets.token_urlsafe(24),
            created_by=kwargs.pop("created_by", None)
            or UserFactory(role=Role.SECRETARY, posted_to=compound.community),
        )


class SelfOrderCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "supplies.SelfOrderCode"

    @classmethod
    def create(cls, **kwargs):
        from supplies.models import SelfOrderCode

        compound = kwargs.pop("compound", None) or CompoundFactory()
        link = OrderLinkFactory(compound=compound)
        return SelfOrderCode.objects.create(
            link=link, compound=compound, phone_hash="x" * 64, code_hash="y" * 64
        )


class DeliveryRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "supplies.DeliveryRule"

    @classmethod
    def create(cls, **kwargs):
        from supplies.models import DeliveryRule

        compound = kwargs.pop("compound", None) or CompoundFactory()
        rule, _ = DeliveryRule.objects.update_or_create(
            compound=compound,
            defaults={
                "proof": kwargs.pop("proof", "both"),
                "updated_by": UserFactory(role=Role.SECRETARY, posted_to=compound.community),
            },
        )
        return rule


from tests.campaign.factories import *  # noqa: E402, F403
