"""API for the resident register: households and residents.

Reads go through visible_to (or resident_search, which uses it); an id outside the user's reach
answers 404. Changes are for the register keepers (may_edit_register) and residents are written
only through services.resident_save. Full phone and ID numbers never leave through this API:
the output carries masked values; the full ones are write-only.
"""

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.settings import api_settings

from accounts.access import may_edit_register
from compounds.models import Building

from . import normalize, selectors, services
from .models import Category, Household, Resident, format_address

MSG_HOUSEHOLD_TAKEN = _("%(address)s is already registered as a household.")
MSG_HOUSEHOLD_MOVE = _("A household cannot move to a building of another compound.")
MSG_ROOM_EMPTY = _("The room number is empty.")
MSG_NAME_SYMBOLS = _("The name contains symbols such as < > that a name cannot have.")
MSG_GENDER_MISMATCH = _("The gender does not match the ID number.")

# The same characters the list import refuses in a name.
_BAD_NAME = re.compile(r"[<>{}\[\]\\\"`=|\x00-\x1f]")


class RegisterKeepersMayWrite(permissions.BasePermission):
    """Everyone in reach may read; only the register keepers may change."""

    message = _("Your role may not change the resident register.")

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or may_edit_register(request.user)


def _user(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else None


# ----------------------------------------------------------------------------- households


class HouseholdSerializer(serializers.ModelSerializer):
    # The queryset is set per request in get_fields: a building the user cannot see answers
    # exactly like one that does not exist.
    building = serializers.PrimaryKeyRelatedField(queryset=Building.objects.none())
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Household
        fields = ["id", "compound", "building", "unit", "room", "address"]
        read_only_fields = ["compound"]
        # The unique address is checked in validate(), with a message a secretary understands.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        fields["building"].queryset = Building.objects.visible_to(_user(self))
        return fields

    # Units and rooms are written the way the list import writes them, so that the API and an
    # import agree on which household "1号楼02单元５０１室" is.
    def validate_unit(self, value: str) -> str:
        unit = normalize.to_halfwidth(value).upper()
        unit = re.sub(r"单元$", "", unit)
        return unit.lstrip("0") or unit

    def validate_room(self, value: str) -> str:
        room = re.sub(r"(室|号)$", "", normalize.to_halfwidth(value).upper())
        if not room:
            raise serializers.ValidationError(MSG_ROOM_EMPTY)
        return room

    def validate(self, attrs: dict) -> dict:
        instance: Household | None = self.instance
        building = attrs.get("building", instance.building if instance else None)
        unit = attrs.get("unit", instance.unit if instance else "")
        room = attrs.get("room", instance.room if instance else "")
        if instance is not None and building.compound_id != instance.compound_id:
            # Residents carry their compound; moving the household would strand them.
            raise serializers.ValidationError({"building": MSG_HOUSEHOLD_MOVE})
        clash = Household.objects.filter(building=building, unit=unit, room=room)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise self._taken(building, unit, room)
        return attrs

    @staticmethod
    def _taken(building: Building, unit: str, room: str) -> serializers.ValidationError:
        address = format_address(building.number, unit, room)
        return serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [MSG_HOUSEHOLD_TAKEN % {"address": address}]}
        )

    def _save(self, household: Household) -> Household:
        household.compound_id = household.building.compound_id
        household._history_user = _user(self)
        try:
            with transaction.atomic():
                household.save()
        except IntegrityError:
            # Someone registered the same address between validate() and here.
            raise self._taken(household.building, household.unit, household.room) from None
        return household

    def create(self, validated_data: dict) -> Household:
        return self._save(Household(**validated_data))

    def update(self, instance: Household, validated_data: dict) -> Household:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return self._save(instance)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("building", OpenApiTypes.INT, description="Building id."),
        ]
    )
)
class HouseholdViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = HouseholdSerializer
    permission_classes = [permissions.IsAuthenticated, RegisterKeepersMayWrite]

    def get_queryset(self):
        qs = Household.objects.visible_to(self.request.user).select_related("building")
        if self.action == "list":
            compound = _int_param(self.request, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            building = _int_param(self.request, "building")
            if building is not None:
                qs = qs.filter(building_id=building)
        return qs


# ----------------------------------------------------------------------------- residents


class ResidentSerializer(serializers.ModelSerializer):
    # Per request, like the household's building: only households the user may see.
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    address = serializers.CharField(source="household.address", read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)
    phone = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=40)
    phone_masked = serializers.CharField(source="masked_phone", read_only=True)
    national_id = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_("18 characters (15-digit legacy numbers are upgraded); '' clears it."),
    )
    national_id_masked = serializers.CharField(source="masked_national_id", read_only=True)
    categories = serializers.SlugRelatedField(
        source="tags", slug_field="category", many=True, read_only=True
    )

    class Meta:
        model = Resident
        fields = [
            "id",
            "household",
            "address",
            "compound",
            "name",
            "gender",
            "birth_date",
            "age",
            "phone",
            "phone_masked",
            "national_id",
            "national_id_masked",
            "relation",
            "notes",
            "quarantine",
            "quarantine_from",
            "quarantine_until",
            "categories",
            "updated_at",
        ]
        read_only_fields = ["compound", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        fields["household"].queryset = Household.objects.visible_to(_user(self)).select_related(
            "building"
        )
        return fields

    def validate_name(self, value: str) -> str:
        name = " ".join(value.split())
        if _BAD_NAME.search(name):
            raise serializers.ValidationError(MSG_NAME_SYMBOLS)
        return name

    def validate_phone(self, value: str) -> str:
        try:
            return normalize.normalize_phone(value)
        except normalize.NormalizeError as exc:
            raise serializers.ValidationError(str(exc.message), code=exc.code) from None

    def validate_national_id(self, value: str) -> str:
        try:
            return normalize.normalize_national_id(value)
        except normalize.NormalizeError as exc:
            raise serializers.ValidationError(str(exc.message), code=exc.code) from None

    def validate(self, attrs: dict) -> dict:
        national_id, gender = attrs.get("national_id"), attrs.get("gender")
        if national_id and gender and gender != normalize.gender_from_id(national_id):
            raise serializers.ValidationError({"gender": MSG_GENDER_MISMATCH})
        return attrs

    def create(self, validated_data: dict) -> Resident:
        return self._save(validated_data, resident=None)

    def update(self, instance: Resident, validated_data: dict) -> Resident:
        return self._save(validated_data, resident=instance)

    def _save(self, validated: dict, *, resident: Resident | None) -> Resident:
        validated = dict(validated)
        national_id = validated.pop("national_id", None)  # None: leave it as it is
        household = validated.pop("household", None) or resident.household
        if resident is None:
            data = validated
        else:
            # resident_save checks the whole record (the name, the quarantine dates): a partial
            # update sends it the current values with the changed ones on top.
            data = {field: getattr(resident, field) for field in services.RESIDENT_FIELDS}
            data.update(validated)
        try:
            return services.resident_save(
                user=_user(self),
                household=household,
                data=data,
                national_id=national_id,
                resident=resident,
            )
        except services.RegisterError as exc:
            raise serializers.ValidationError(
                {field: [str(message)] for field, message in exc.errors.items()}
            ) from None
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description=(
                    "Name prefix, phone (or its start), room (3号楼2单元501, 3-2-501), "
                    "a full ID number or its last 4 characters."
                ),
            ),
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter(
                "category",
                OpenApiTypes.STR,
                enum=Category.values,
                description="Vulnerable-person category.",
            ),
        ]
    )
)
class ResidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ResidentSerializer
    permission_classes = [permissions.IsAuthenticated, RegisterKeepersMayWrite]

    def get_queryset(self):
        user = self.request.user
        if self.action != "list":
            return selectors.resident_search(user=user)
        params = self.request.query_params
        return selectors.resident_search(
            user=user,
            query=params.get("q", "")[:100],
            compound_id=_int_param(self.request, "compound"),
            category=params.get("category", ""),
        )
