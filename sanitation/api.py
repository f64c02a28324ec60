"""API for sanitation: areas, rounds (and marking one done: the check-in) and the medical-waste
log. Reads go through visible_to; writes through the same services as the pages, whose
refusals are 400s with the same messages."""

from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import decorators, exceptions, mixins, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from compounds.models import Building, Compound
from volunteers.models import Team
from wuyi.lib.drf import (
    ApiView,
    ModelSerializer,
    StrictCharField,
    call_service,
    refusals,
    request_user,
)
from wuyi.lib.errors import Refused
from wuyi.lib.params import choice_param, date_param, int_param

from . import rules, services
from .models import Area, Round, WasteRecord


class OrganisersMayWrite(permissions.BasePermission):
    message = _("Disinfection is organised by the community secretary.")

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or rules.may_organise(request.user)


class AreaSerializer(ModelSerializer):
    compound = serializers.PrimaryKeyRelatedField(queryset=Compound.objects.none())
    building = serializers.PrimaryKeyRelatedField(
        queryset=Building.objects.none(), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.none(), required=False, allow_null=True
    )
    times = serializers.ListField(
        child=StrictCharField(max_length=5),
        max_length=100,
        help_text=_('Times of day its rounds start, e.g. ["08:00", "14:00"]: 1 to 12.'),
    )

    class Meta:
        model = Area
        fields = [
            "id",
            "compound",
            "building",
            "kind",
            "name",
            "method",
            "times",
            "window_minutes",
            "team",
            "active",
        ]

    def _save(self, area: Area | None, data: dict) -> Area:
        def given(name: str, default: Any) -> Any:
            if name in data:
                return data[name]
            return getattr(area, name) if area is not None else default

        compound = cast(Compound, area.compound if area is not None else data["compound"])
        return call_service(
            services.area_save,
            by=request_user(self),
            compound=compound,
            area=area,
            name=given("name", ""),
            kind=given("kind", ""),
            method=given("method", ""),
            times=given("times", []),
            window_minutes=given("window_minutes", 60),
            building=given("building", None),
            team=given("team", None),
            active=given("active", True),
        )

    def create(self, validated_data: dict) -> Area:
        return self._save(None, validated_data)

    def update(self, instance: Area, validated_data: dict) -> Area:
        return self._save(instance, validated_data)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id.")]
    )
)
class AreaViewSet(
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AreaSerializer
    permission_classes = [permissions.IsAuthenticated, OrganisersMayWrite]

    def get_queryset(self):
        qs = Area.objects.visible_to(self.request.user)
        if self.action == "list":
            compound = int_param(self.request.query_params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
        return qs.order_by("compound_id", "kind", "name", "id")


class RoundSerializer(ModelSerializer):
    area_name = serializers.CharField(source="area.name", read_only=True)
    assignee_name = serializers.CharField(
        source="assignee.name", read_only=True, default=None, allow_null=True
    )
    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = Round
        fields = [
            "id",
            "area",
            "area_name",
            "compound",
            "date",
            "due_at",
            "window_ends_at",
            "assignee",
            "assignee_name",
            "done_at",
            "done_by",
            "timing",
            "check_in",
            "override_reason",
            "note",
            "has_photo",
        ]
        read_only_fields = fields

    def get_has_photo(self, round: Round) -> bool:
        return bool(round.photo)


class DoneSerializer(serializers.Serializer):
    qr = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=_(
            "The code next to the round's area, as scanned: the address it opens, or the "
            "token in it. Needed unless the secretary gives override_reason."
        ),
    )
    override_reason = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=_(
            "The secretary only, without the code: why (recorded with the round, at most "
            "200 characters)."
        ),
    )
    note = StrictCharField(max_length=200, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("area", OpenApiTypes.INT, description="Area id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Day, e.g. 2026-12-01."),
            OpenApiParameter(
                "state", OpenApiTypes.STR, enum=["open", "done"], description="Open or done."
            ),
        ]
    )
)
class RoundViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Disinfection rounds. POST …/done/ is the on-site check-in, proved by the code next to
    the round's area (`qr`), or by the secretary without it (`override_reason`); only on the
    round's day (Asia/Shanghai). Once: a second call returns the round as it is; done outside
    its window it is recorded early or late."""

    serializer_class = RoundSerializer

    def get_queryset(self):
        qs = Round.objects.visible_to(self.request.user).select_related("area", "assignee")
        if self.action == "list":
            params = self.request.query_params
            for name in ("compound", "area"):
                value = int_param(params, name)
                if value is not None:
                    qs = qs.filter(**{f"{name}_id": value})
            day = date_param(params, "date")
            if day is not None:
                qs = qs.filter(date=day)
            state = choice_param(params, "state", ["open", "done"])
            if state:
                qs = qs.filter(done_at__isnull=state == "open")
        return qs.order_by("due_at", "id")

    @extend_schema(request=DoneSerializer, responses=RoundSerializer)
    @refusals(
        no_code=Refused(rules.MSG_SCAN, field="qr"),
        wrong_code=Refused(rules.MSG_QR_WRONG, field="qr"),
        no_reason=Refused(rules.MSG_REASON, field="override_reason"),
        other_day=lambda: Refused(rules.MSG_OTHER_DAY % {"date": "12-08"}),
    )
    @decorators.action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = DoneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            # A refusal goes on to the project's exception handler: a 400 with its detail
            # and its field, as documented by @refusals.
            round = services.round_mark_done(
                by=request.user,
                round=self.get_object(),
                qr=data.get("qr", ""),
                override_reason=data.get("override_reason", ""),
                note=data.get("note", ""),
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response(RoundSerializer(round).data)


class WasteRecordSerializer(ModelSerializer):
    area = serializers.PrimaryKeyRelatedField(queryset=Area.objects.none())

    class Meta:
        model = WasteRecord
        fields = [
            "id",
            "area",
            "compound",
            "date",
            "bags",
            "weight_kg",
            "handed_to",
            "handed_at",
            "cleared",
            "note",
            "collected_by",
        ]
        read_only_fields = ["compound", "collected_by"]
        # One record per bin and day: a second POST for the same day changes it (an upsert).
        validators: list = []

    def create(self, validated_data: dict) -> WasteRecord:
        data = dict(validated_data)
        return call_service(
            services.waste_record_save,
            by=request_user(self),
            area=data.pop("area"),
            day=data.pop("date"),
            **data,
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Day, e.g. 2026-12-01."),
        ]
    ),
    create=extend_schema(
        description="The bin's record of the day: created, or changed when it exists."
    ),
)
class WasteRecordViewSet(
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WasteRecordSerializer

    def get_queryset(self):
        qs = WasteRecord.objects.visible_to(self.request.user)
        if self.action == "list":
            params = self.request.query_params
            compound = int_param(params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            day = date_param(params, "date")
            if day is not None:
                qs = qs.filter(date=day)
        return qs.order_by("-date", "compound_id", "area_id", "id")
