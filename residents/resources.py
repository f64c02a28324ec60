"""django-import-export resources behind the admin's import and export.

Column names are the committees' Chinese headers. ID numbers and phones leave masked; on import
they are normalised and the ID number goes through Resident.set_national_id (ciphertext, hash).
Bulk lists from the committees use the secretary's import page (importing.py), which is faster
and explains every bad cell; this resource serves the admin's one-off corrections.
"""

from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from . import normalize
from .models import Household, Resident


class ResidentResource(resources.ModelResource):
    household = fields.Field(
        attribute="household", column_name="户号", widget=ForeignKeyWidget(Household, "pk")
    )
    compound = fields.Field(column_name="小区", readonly=True)
    address = fields.Field(column_name="地址", readonly=True)
    name = fields.Field(attribute="name", column_name="姓名")
    gender = fields.Field(attribute="gender", column_name="性别")
    national_id = fields.Field(column_name="身份证号")
    phone = fields.Field(attribute="phone", column_name="联系电话")
    relation = fields.Field(attribute="relation", column_name="与户主关系")
    notes = fields.Field(attribute="notes", column_name="备注")

    class Meta:
        model = Resident
        fields = (
            "id",
            "household",
            "compound",
            "address",
            "name",
            "gender",
            "national_id",
            "phone",
            "relation",
            "notes",
        )
        import_id_fields = ("id",)
        skip_unchanged = True

    def __init__(self, households=None, **kwargs) -> None:
        super().__init__(**kwargs)
        if households is not None:
            self.fields["household"].widget = ForeignKeyWidget(households.model, "pk")
            self.fields["household"].widget.get_queryset = lambda value, row, *a, **k: households

    def dehydrate_compound(self, resident: Resident) -> str:
        return resident.compound.name

    def dehydrate_address(self, resident: Resident) -> str:
        return resident.household.address

    def dehydrate_national_id(self, resident: Resident) -> str:
        return resident.masked_national_id

    def dehydrate_phone(self, resident: Resident) -> str:
        return resident.masked_phone

    def before_save_instance(self, instance: Resident, row, **kwargs) -> None:
        raw = row.get("身份证号") or ""
        if raw and "*" not in str(raw):
            instance.set_national_id(normalize.normalize_national_id(raw))
        phone = row.get("联系电话") or ""
        instance.phone = "" if "*" in str(phone) else normalize.normalize_phone(phone)
