"""API for the resident register: households and residents.

Reads go through visible_to (or resident_search, which uses it); an id outside the user's reach
answers 404, and so does every read by a role that does not read the register (a volunteer, a
medic: rules.may_read_register). Changes are for the register keepers (rules.may_edit_register)
and are written only through services.household_save and services.resident_save, which check
every rule; a refusal there is a 400 with the same message a page shows. Full phone and ID
numbers never leave through this API: the output carries masked values; the full ones are
write-only.
"""

from typing import cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, serializers, viewsets

from compounds.models import Building
from wuyi.lib import cn
from wuyi.lib.drf import (
    ApiView,
    ModelSerializer,
    StrictCharField,
    as_validation_error,
    request_user,
)
from wuyi.lib.errors import Refused
from wuyi.lib.params import choice_param, int_param, text_param

from . import rules, selectors, services
from .models import Category, Household, Resident, VulnerableTag


class RegisterReadersOnly(permissions.BasePermission):
    """The register is not in a volunteer's or a medic's reach: their reads answer 404, as
    the pages do (a write is refused with 403 by RegisterKeepersMayWrite, as documented)."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS and not rules.may_read_register(request.user):
            raise exceptions.NotFound
        return True


class RegisterKeepersMayWrite(permissions.BasePermission):
    """Everyone in reach may read; only the register keepers may change."""

    message = _("Your role may not change the resident register.")

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or rules.may_edit_register(request.user)


# ----------------------------------------------------------------------------- households


class HouseholdSerializer(ModelSerializer):
    # Scoped per request (ScopedRelations): a building the user cannot see answers
    # exactly like one that does not exist.
    building = serializers.PrimaryKeyRelatedField(queryset=Building.objects.none())
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Household
        fields = ["id", "compound", "building", "unit", "room", "address"]
        read_only_fields = ["compound"]
        # The unique address is checked by services.household_save, in a secretary's words.
        validators: list = []

    # The address is checked and written by services.household_save, through the same rule
    # as the list import and search: one flat is one household however it was typed.
    def _save(self, household: Household | None, validated: dict) -> Household:
        # Required on create; a change without it keeps the household's building.
        building = cast(
            Building, validated.get("building", household.building if household else None)
        )
        unit = validated.get("unit", household.unit if household else "")
        room = validated.get("room", household.room if household else "")
        try:
            return services.household_save(
                by=request_user(self), building=building, unit=unit, room=room, household=household
            )
        except Refused as refused:
            raise as_validation_error(refused) from None
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None

    def create(self, validated_data: dict) -> Household:
        return self._save(None, validated_data)

    def update(self, instance: Household, validated_data: dict) -> Household:
        return self._save(instance, validated_data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("building", OpenApiTypes.INT, description="Building id."),
        ]
    )
)
class HouseholdViewSet(
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = HouseholdSerializer
    permission_classes = [
        permissions.IsAuthenticated,
        RegisterReadersOnly,
        RegisterKeepersMayWrite,
    ]

    def get_queryset(self):
        qs = Household.objects.visible_to(self.request.user).select_related("building")
        if self.action == "list":
            compound = int_param(self.request.query_params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            building = int_param(self.request.query_params, "building")
            if building is not None:
                qs = qs.filter(building_id=building)
        return qs


# ----------------------------------------------------------------------------- residents


class ResidentSerializer(ModelSerializer):
    narrow = {"household": lambda rows: rows.select_related("building")}
    # Per request, like the household's building: only households the user may see.
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    address = serializers.CharField(source="household.address", read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)
    # Written, never shown: beside the ID number's last four a birth date would give the
    # number away. The output carries the age.
    birth_date = serializers.DateField(write_only=True, required=False, allow_null=True)
    phone = StrictCharField(write_only=True, required=False, allow_blank=True, max_length=40)
    phone_masked = serializers.CharField(source="masked_phone", read_only=True)
    national_id = StrictCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=40,
        help_text=_("18 characters (15-digit legacy numbers are upgraded); '' clears it."),
    )
    national_id_masked = serializers.CharField(source="masked_national_id", read_only=True)
    categories: "serializers.SlugRelatedField[VulnerableTag]" = serializers.SlugRelatedField(
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
            "categories",
            "updated_at",
        ]
        read_only_fields = ["compound", "updated_at"]

    # Each field is checked as it comes, for an early message on the field; the record as a
    # whole is judged again by services.resident_save against the stored row.
    def _rule(self, func, value):
        try:
            return func(value)
        except cn.NormalizeError as exc:
            raise serializers.ValidationError(str(exc.message), code=exc.code) from None

    def validate_name(self, value: str) -> str:
        return self._rule(cn.clean_name, value)

    def validate_phone(self, value: str) -> str:
        return self._rule(cn.normalize_phone, value)

    def validate_national_id(self, value: str) -> str:
        return self._rule(cn.normalize_national_id, value)

    def validate_relation(self, value: str) -> str:
        return self._rule(rules.clean_relation, value)

    def validate_notes(self, value: str) -> str:
        return self._rule(rules.clean_notes, value)

    def create(self, validated_data: dict) -> Resident:
        return self._save(validated_data, resident=None)

    def update(self, instance: Resident, validated_data: dict) -> Resident:
        return self._save(validated_data, resident=instance)

    def _save(self, validated: dict, *, resident: Resident | None) -> Resident:
        validated = dict(validated)
        national_id = validated.pop("national_id", None)  # None: leave it as it is
        # Required on create (resident None); a change without it keeps the household.
        household = validated.pop("household", None) or cast(Resident, resident).household
        try:
            # resident_save judges the whole record: the stored values, with these on top.
            return services.resident_save(
                by=request_user(self),
                household=household,
                data=validated,
                national_id=national_id,
                resident=resident,
            )
        except Refused as refused:
            raise as_validation_error(refused) from None
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description=(
                    "Name prefix, room (3号楼2单元501, 3-2-501), a phone's or an ID number's "
                    "last 4 characters; a whole phone (or its start) or ID number for roles "
                    "that see full numbers (others: 400)."
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
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ResidentSerializer
    permission_classes = [
        permissions.IsAuthenticated,
        RegisterReadersOnly,
        RegisterKeepersMayWrite,
    ]

    def get_queryset(self):
        user = self.request.user
        if self.action != "list":
            # One resident by id, also after they left the register (their record stays).
            return (
                Resident.objects.visible_to(user)
                .select_related("household__building", "compound")
                .prefetch_related("tags")
            )
        params = self.request.query_params
        return selectors.resident_search(
            user=user,
            query=text_param(params, "q", max_length=100),
            compound_id=int_param(params, "compound"),
            category=choice_param(params, "category", Category.values),
        )
