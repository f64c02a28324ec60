"""API for medical support: hospitals, ambulances, escorts (booking one, moving it along) and
recurring schedules. Reads go through visible_to; writes through the same services as the
pages, whose refusals are 400s with the same messages."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import decorators, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from residents.models import Resident
from wuyi.lib.drf import (
    ApiView,
    LocalTimeField,
    ModelSerializer,
    Serializer,
    StrictCharField,
    call_service,
)
from wuyi.lib.params import choice_param, date_param, int_param

from . import rules, services
from .models import (
    Ambulance,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
    Schedule,
    ScheduleStatus,
)

BOOKABLE = [(k, label) for k, label in EscortKind.choices if k != EscortKind.EMERGENCY]


class HospitalSerializer(ModelSerializer):
    class Meta:
        model = Hospital
        fields = ["id", "name", "short_name", "address", "phone", "services", "active"]
        read_only_fields = fields


class HospitalViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Hospitals designated for the districts and compounds of the user's area."""

    serializer_class = HospitalSerializer

    def get_queryset(self):
        return Hospital.objects.visible_to(self.request.user).order_by("name", "id")


class AmbulanceSerializer(ModelSerializer):
    class Meta:
        model = Ambulance
        fields = ["id", "plate", "compound", "driver_name", "status"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Home compound id."),
        ]
    )
)
class AmbulanceViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Ambulances of the compounds of the user's area and their status."""

    serializer_class = AmbulanceSerializer

    def get_queryset(self):
        qs = Ambulance.objects.visible_to(self.request.user)
        if self.action == "list":
            compound = int_param(self.request.query_params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
        return qs.order_by("compound_id", "plate", "id")


class EscortSerializer(ModelSerializer):
    resident_name = serializers.CharField(source="resident.name", read_only=True)

    class Meta:
        model = Escort
        fields = [
            "id",
            "compound",
            "resident",
            "resident_name",
            "kind",
            "pickup",
            "hospital",
            "scheduled_at",
            "expected_return_at",
            "ambulance",
            "staff",
            "status",
            "symptom",
            "notes",
            "outcome",
            "schedule",
            "schedule_date",
            "dispatched_at",
            "closed_at",
        ]
        read_only_fields = fields


class EscortBookSerializer(Serializer):
    resident = serializers.PrimaryKeyRelatedField(queryset=Resident.objects.none())
    kind = serializers.ChoiceField(choices=BOOKABLE)
    hospital = serializers.PrimaryKeyRelatedField(queryset=Hospital.objects.none())
    scheduled_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(
        min_value=rules.MIN_DURATION, max_value=rules.MAX_DURATION, default=240
    )
    ambulance = serializers.PrimaryKeyRelatedField(
        queryset=Ambulance.objects.none(), required=False, allow_null=True
    )
    staff = serializers.PrimaryKeyRelatedField(
        queryset=MedicalStaff.objects.none(), required=False, allow_null=True
    )
    pickup = StrictCharField(max_length=60, required=False, allow_blank=True)
    notes = StrictCharField(max_length=500, required=False, allow_blank=True)


class StepSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=EscortStatus.choices)
    outcome = StrictCharField(max_length=200, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Pickup day, e.g. 2026-12-01."),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=EscortKind.values),
            OpenApiParameter("status", OpenApiTypes.STR, enum=EscortStatus.values),
        ]
    ),
    create=extend_schema(request=EscortBookSerializer, responses={201: EscortSerializer}),
)
class EscortViewSet(ApiView, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Escorts to hospital. POST books one (not an emergency: those use the form); POST
    …/step/ moves one a step along requested → scheduled → dispatched → at hospital →
    returned (or cancelled, admitted); a step that skips one is a 400."""

    serializer_class = EscortSerializer

    def get_queryset(self):
        qs = Escort.objects.visible_to(self.request.user).select_related("resident")
        if self.action == "list":
            params = self.request.query_params
            compound = int_param(params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            day = date_param(params, "date")
            if day is not None:
                lo, hi = services_day_bounds(day)
                qs = qs.filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
            kind = choice_param(params, "kind", EscortKind.values)
            if kind:
                qs = qs.filter(kind=kind)
            status = choice_param(params, "status", EscortStatus.values)
            if status:
                qs = qs.filter(status=status)
        return qs.order_by("scheduled_at", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = EscortBookSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        escort = call_service(services.escort_book, by=request.user, **body.validated_data)
        return Response(EscortSerializer(escort).data, status=201)

    @extend_schema(request=StepSerializer, responses=EscortSerializer)
    @decorators.action(detail=True, methods=["post"])
    def step(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = StepSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        escort = call_service(
            services.escort_advance,
            by=request.user,
            escort=self.get_object(),
            to=body.validated_data["to"],
            outcome=body.validated_data.get("outcome", ""),
        )
        return Response(EscortSerializer(escort).data)


def services_day_bounds(day):
    from .selectors import _day_bounds

    return _day_bounds(day, day)


class ScheduleSerializer(ModelSerializer):
    resident_name = serializers.CharField(source="resident.name", read_only=True)

    class Meta:
        model = Schedule
        fields = [
            "id",
            "compound",
            "resident",
            "resident_name",
            "kind",
            "weekdays",
            "time",
            "duration_minutes",
            "hospital",
            "ambulance",
            "staff",
            "pickup",
            "status",
            "start_date",
            "end_date",
            "notes",
        ]
        read_only_fields = fields


class ScheduleSaveSerializer(Serializer):
    resident = serializers.PrimaryKeyRelatedField(queryset=Resident.objects.none())
    kind = serializers.ChoiceField(choices=BOOKABLE)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        max_length=7,
        help_text=_("Monday 0 … Sunday 6, e.g. [0, 2, 4]; at least one."),
    )
    time = LocalTimeField()
    duration_minutes = serializers.IntegerField(
        min_value=rules.MIN_DURATION, max_value=rules.MAX_DURATION, default=240
    )
    hospital = serializers.PrimaryKeyRelatedField(queryset=Hospital.objects.none())
    ambulance = serializers.PrimaryKeyRelatedField(
        queryset=Ambulance.objects.none(), required=False, allow_null=True
    )
    staff = serializers.PrimaryKeyRelatedField(
        queryset=MedicalStaff.objects.none(), required=False, allow_null=True
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    notes = StrictCharField(max_length=200, required=False, allow_blank=True)


class ScheduleStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ScheduleStatus.choices)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=ScheduleStatus.values),
        ]
    ),
    create=extend_schema(request=ScheduleSaveSerializer, responses={201: ScheduleSerializer}),
)
class ScheduleViewSet(ApiView, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Recurring treatments (dialysis Mon/Wed/Fri 07:30): their escorts are booked a week
    ahead, each once. POST …/status/ pauses, resumes or ends one."""

    serializer_class = ScheduleSerializer

    def get_queryset(self):
        qs = Schedule.objects.visible_to(self.request.user).select_related("resident")
        if self.action == "list":
            params = self.request.query_params
            compound = int_param(params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            status = choice_param(params, "status", ScheduleStatus.values)
            if status:
                qs = qs.filter(status=status)
        return qs.order_by("compound_id", "time", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ScheduleSaveSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        schedule = call_service(services.schedule_save, by=request.user, **body.validated_data)
        return Response(ScheduleSerializer(schedule).data, status=201)

    @extend_schema(request=ScheduleStatusSerializer, responses=ScheduleSerializer)
    @decorators.action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = ScheduleStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        schedule = call_service(
            services.schedule_set_status,
            by=request.user,
            schedule=self.get_object(),
            status=body.validated_data["status"],
        )
        return Response(ScheduleSerializer(schedule).data)
