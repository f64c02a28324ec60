"""Forms of the supplies pages. They parse; the rules are the services' (refusals land on the
fields through wuyi.lib.errors.add_to_form)."""

import uuid
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from compounds.models import Building, Compound, building_label
from wuyi.lib.iters import natural_key

from .models import CatalogueItem, DeliveredHow, PaymentMethod, Supplier, Urgency


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    contact = forms.CharField(label=_("Contact person"), max_length=40, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)


class CatalogueItemForm(forms.Form):
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none())
    name = forms.CharField(label=_("Item"), max_length=60)
    unit = forms.CharField(
        label=pgettext_lazy("measure", "Unit"), max_length=10, help_text=_("e.g. 袋, 桶, 箱")
    )
    price = forms.DecimalField(label=_("Price (yuan)"), max_digits=8, decimal_places=2)

    def __init__(self, *args, suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers


class GroupBuyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=80, help_text=_("e.g. 12月1日粮油团购"))
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none())
    compounds = forms.ModelMultipleChoiceField(
        label=_("Compounds"),
        queryset=Compound.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    deadline = forms.DateTimeField(
        label=_("Order deadline"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    delivery_date = forms.DateField(
        label=_("Delivery date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    items = forms.ModelMultipleChoiceField(
        label=_("Items"),
        queryset=CatalogueItem.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("At the catalogue's price; at most 10 per household."),
    )

    def __init__(self, *args, suppliers, compounds, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers
        self.fields["compounds"].queryset = compounds
        self.fields["items"].queryset = items


class AddressForm(forms.Form):
    """A household by its address, as a secretary reads it off the register."""

    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none())
    unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    room = forms.CharField(label=_("Room"), max_length=20)
    phone = forms.CharField(
        label=_("Phone for the handover code"),
        max_length=20,
        required=False,
        help_text=_("Empty for a household without a phone: delivered without a code."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    urgent = forms.BooleanField(
        label=_("Urgent"),
        required=False,
        help_text=_("Delivered first: a household out of food, a baby out of formula."),
    )
    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, buildings, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("client_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["building"])
        field.queryset = buildings
        # 2号楼 before 10号楼: the choices in natural order (the queryset still validates).
        ordered = sorted(buildings, key=lambda b: (b.compound.name, natural_key(b.number)))
        field.choices = [("", field.empty_label or "")] + [
            (b.pk, f"{b.compound.name} {building_label(b.number)}") for b in ordered
        ]


class ProxyForm(AddressForm):
    items = forms.CharField(
        label=_("What to buy"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("e.g. 布洛芬 1盒；婴儿奶粉 1罐（飞鹤三段）"),
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    estimate = forms.CharField(label=_("Estimated cost (yuan)"), max_length=12, required=False)


class PaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    paid = forms.BooleanField(label=_("Paid"), required=False, initial=True)


class DeliverForm(forms.Form):
    how = forms.ChoiceField(
        label=_("Delivered how"), choices=DeliveredHow.choices, initial=DeliveredHow.LEFT_AT_DOOR
    )
    code = forms.CharField(
        label=_("Handover code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
