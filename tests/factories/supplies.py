"""Suppliers, group buys, orders, links (supplies)."""

import factory
from django.utils import timezone

from accounts.models import Role

from .places import CompoundFactory, UserFactory
from .residents import HouseholdFactory


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
