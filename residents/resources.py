"""django-import-export resources behind the admin's import and export.

Column names are the committees' Chinese headers. ID numbers and phones leave masked; a masked
value coming back means "keep what is registered". Every row is written through
services.resident_save, which checks the register's rules as the pages and the API do. Bulk
lists from the committees use the secretary's import page (residents/importing), which is faster
and explains every bad cell; this resource serves the admin's one-off corrections.
"""

from django.core.exceptions import ValidationError
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from wuyi.lib.errors import Refused
from wuyi.lib.spreadsheets import spreadsheet_safe

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

    def export_field(self, field, instance, **kwargs):
        """Every cell through the same safe export as the app's own (= + - @ tab CR)."""
        return spreadsheet_safe(super().export_field(field, instance, **kwargs))

    def save_instance(self, instance: Resident, is_create: bool, row, **kwargs) -> None:
        from . import services

        stored = None if is_create else Resident.objects.get(pk=instance.pk)
        data = {field: getattr(instance, field) for field in Resident.RECORD_FIELDS}
        if stored is not None and "*" in str(row.get("联系电话") or ""):
            data["phone"] = stored.phone
        raw_id = str(row.get("身份证号") or "")
        national_id = raw_id if raw_id and "*" not in raw_id else None
        try:
            saved = services.resident_save(
                by=kwargs.get("user"),
                household=instance.household,
                data=data,
                national_id=national_id,
                resident=stored,
            )
        except Refused as refused:
            raise ValidationError(refused.errors) from None
        instance.pk = saved.pk
