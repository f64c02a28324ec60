"""API for screening: rounds (and their coverage), sampling points and time slots, tubes with
their people (opening one, scanning a person in, closing it), the result sheets committed,
cases, contacts and their release, daily health reports. Reads go through visible_to; a
role that does not read a kind of record gets 404, as for an object out of reach; writes go
through the same services as the pages (wuyi.lib.drf.call_service), whose refusals are 400s
with the same messages.

A result sheet is a file: it is previewed and committed on the round's page or by
`manage.py import_results`; the API lists what each committed sheet matched."""

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import decorators, mixins, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from compounds.models import Compound, District
from residents.models import Resident
from wuyi.lib import graphs
from wuyi.lib.drf import (
    ApiView,
    ModelSerializer,
    Serializer,
    StrictCharField,
    call_service,
    refusals,
)
from wuyi.lib.errors import Refused
from wuyi.lib.params import choice_param, date_param, int_param, text_param

from . import rules, selectors, services
from .models import (
    HealthReport,
    PersonKind,
    Place,
    Quarantine,
    ResultImport,
    RoundStatus,
    Sample,
    SamplingSlot,
    TestingRound,
    Tube,
    TubeKind,
)


def _user(request: Request) -> User:
    return cast(User, request.user)


class Readers(permissions.BasePermission):
    """Reads by a role outside `may_read` answer 404, as an object out of reach does (the
    API's reads document no 403); its writes are refused with 403 by the service."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS and not view.may_read(request.user):
            from rest_framework.exceptions import NotFound

            raise NotFound
        return True


class ScreeningView(ApiView):
    permission_classes = [permissions.IsAuthenticated, Readers]

    @staticmethod
    def may_read(user: Any) -> bool:
        return rules.may_keep(user)


# ----------------------------------------------------------------------------- rounds


class TestingRoundSerializer(ModelSerializer):
    district = serializers.PrimaryKeyRelatedField(queryset=District.objects.none())
    subdistricts = serializers.ListField(
        child=serializers.IntegerField(),
        source="subdistrict_pks",
        read_only=True,
        help_text="The sub-districts the round covers; none: the whole district.",
    )
    subdistrict_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        write_only=True,
        required=False,
        max_length=100,
        help_text="Sub-districts of the district the round covers; none: the whole district.",
    )

    class Meta:
        model = TestingRound
        fields = [
            "id",
            "district",
            "number",
            "starts_on",
            "ends_on",
            "status",
            "subdistricts",
            "subdistrict_ids",
            "created_at",
        ]
        read_only_fields = ["status", "created_at"]
        # The same round opened twice is the first one (services.round_open), not a 400.
        validators: list = []

    def to_representation(self, instance: TestingRound) -> dict[str, Any]:
        instance.subdistrict_pks = [s.pk for s in instance.subdistricts.all()]  # type: ignore[attr-defined]
        return super().to_representation(instance)

    def create(self, validated_data: dict) -> TestingRound:
        return call_service(
            services.round_open,
            district_id=validated_data["district"].pk,
            number=validated_data["number"],
            starts_on=validated_data["starts_on"],
            ends_on=validated_data["ends_on"],
            subdistrict_ids=validated_data.get("subdistrict_ids", []),
            by=_user(self.context["request"]),
        )


class CoverageSerializer(serializers.Serializer):
    compound = serializers.IntegerField(source="pk", help_text="0 for the round's total.")
    name = serializers.CharField()
    expected = serializers.IntegerField(help_text="On the register, present (应检).")
    sampled = serializers.IntegerField(help_text="已检")
    exempt = serializers.IntegerField(help_text="Exempt with a reason and not sampled (免检).")
    missing = serializers.IntegerField(help_text="未检")
    percent = serializers.IntegerField()


class TestingRoundCoverageSerializer(serializers.Serializer):
    total = CoverageSerializer()
    compounds = CoverageSerializer(many=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("district", OpenApiTypes.INT, description="District id."),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=["open", "closed"], description="Open or closed."
            ),
        ]
    )
)
class TestingRoundViewSet(
    ScreeningView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Testing rounds of the districts the user sees. District and sub-district staff open a
    round (POST) and close it (POST …/close/); GET …/coverage/ gives expected, sampled, exempt
    and missing per compound, worst first."""

    serializer_class = TestingRoundSerializer

    @staticmethod
    def may_read(user: Any) -> bool:
        return rules.may_sample(user)

    def get_queryset(self):
        qs = TestingRound.objects.visible_to(self.request.user).prefetch_related("subdistricts")
        if self.action == "list":
            params = self.request.query_params
            district = int_param(params, "district")
            if district is not None:
                qs = qs.filter(district_id=district)
            state = choice_param(params, "status", ["open", "closed"])
            if state:
                qs = qs.filter(status=state)
        return qs.distinct().order_by("district_id", "-number")

    @refusals(
        number=Refused(_("A round number is between 1 and 999."), field="number"),
        order=Refused(_("The round ends before it starts."), field="ends_on"),
        open_one=Refused(_("Finish the round in progress before opening another."), field="number"),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=None, responses=TestingRoundSerializer)
    @refusals(
        closed=lambda: Refused(
            graphs.MSG_SAME % {"current": RoundStatus.CLOSED.label}, field=rules.ROUND.field
        )
    )
    @decorators.action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        testing_round = self.get_object()
        closed = call_service(services.round_close, round_id=testing_round.pk, by=_user(request))
        return Response(TestingRoundSerializer(closed, context={"request": request}).data)

    @extend_schema(responses=TestingRoundCoverageSerializer)
    @decorators.action(detail=True, methods=["get"])
    def coverage(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        testing_round = self.get_object()
        if not rules.may_keep(request.user):
            from rest_framework.exceptions import NotFound

            raise NotFound
        total, rows = selectors.round_coverage(user=request.user, testing_round=testing_round)
        return Response(TestingRoundCoverageSerializer({"total": total, "compounds": rows}).data)


# ----------------------------------------------------------------------------- slots


class SamplingSlotSerializer(ModelSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=TestingRound.objects.none())
    compound = serializers.PrimaryKeyRelatedField(queryset=Compound.objects.none())
    place = StrictCharField(max_length=60, help_text="The sampling point (采样点), e.g. 东门广场.")
    buildings = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        source="building_pks",
        required=False,
        max_length=100,
        help_text="The compound's buildings whose residents come down to it; none: all.",
    )

    class Meta:
        model = SamplingSlot
        fields = ["id", "round", "compound", "place", "starts_at", "ends_at", "buildings"]
        extra_kwargs = {"starts_at": {"label": _("starts at")}, "ends_at": {"label": _("ends at")}}
        # The same slot given twice is the first one (services.slot_add), not a 400.
        validators: list = []

    def to_representation(self, instance: SamplingSlot) -> dict[str, Any]:
        instance.building_pks = [b.pk for b in instance.buildings.all()]  # type: ignore[attr-defined]
        return super().to_representation(instance)

    def create(self, validated_data: dict) -> SamplingSlot:
        return call_service(
            services.slot_add,
            round_id=validated_data["round"].pk,
            compound_id=validated_data["compound"].pk,
            place=validated_data["place"],
            starts_at=validated_data["starts_at"],
            ends_at=validated_data["ends_at"],
            building_ids=validated_data.get("building_pks", []),
            by=_user(self.context["request"]),
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("round", OpenApiTypes.INT, description="Round id."),
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
        ]
    )
)
class SamplingSlotViewSet(
    ScreeningView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Sampling points (采样点) and their time slots per compound and round, earliest first:
    where the residents of the buildings named (none named: every building) come down to be
    sampled. The secretary and staff add one to a round in progress (POST; the same slot sent
    twice is written once) and remove one (POST …/remove/)."""

    serializer_class = SamplingSlotSerializer

    @staticmethod
    def may_read(user: Any) -> bool:
        return rules.may_sample(user)

    def get_queryset(self):
        qs = SamplingSlot.objects.visible_to(self.request.user).prefetch_related("buildings")
        if self.action == "list":
            params = self.request.query_params
            for name in ("round", "compound"):
                value = int_param(params, name)
                if value is not None:
                    qs = qs.filter(**{f"{name}_id": value})
        return qs.order_by("starts_at", "id")

    @refusals(
        not_in_round=Refused(services.MSG_NOT_IN_ROUND, field="compound"),
        closed=lambda: Refused(services.MSG_ROUND_CLOSED % {"number": 5}),
        place=Refused(services.MSG_SLOT_PLACE, field="place"),
        order=Refused(services.MSG_SLOT_ORDER, field="ends_at"),
        hours=lambda: Refused(
            services.MSG_SLOT_HOURS % {"hours": services.MAX_SLOT_HOURS}, field="ends_at"
        ),
        days=lambda: Refused(
            services.MSG_SLOT_ROUND % {"start": "2026-12-03", "end": "2026-12-04"},
            field="starts_at",
        ),
        buildings=Refused(services.MSG_SLOT_BUILDINGS, field="buildings"),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=None, responses={204: None})
    @decorators.action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        slot = self.get_object()
        call_service(services.slot_remove, slot_id=slot.pk, by=_user(request))
        return Response(status=204)


# ----------------------------------------------------------------------------- tubes


class SampleSerializer(ModelSerializer):
    name = serializers.CharField(source="resident.name", read_only=True)
    address = serializers.CharField(source="household.address", read_only=True)

    class Meta:
        model = Sample
        fields = ["id", "resident", "name", "household", "address", "retest", "taken_at"]
        read_only_fields = fields


class TubeSerializer(ModelSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=TestingRound.objects.none())
    compound = serializers.PrimaryKeyRelatedField(queryset=Compound.objects.none())
    capacity = serializers.IntegerField(read_only=True)
    people = serializers.SerializerMethodField()

    class Meta:
        model = Tube
        fields = [
            "id",
            "round",
            "compound",
            "barcode",
            "kind",
            "retest",
            "status",
            "size",
            "capacity",
            "result",
            "resulted_at",
            "opened_at",
            "people",
        ]
        read_only_fields = ["retest", "status", "size", "result", "resulted_at", "opened_at"]

    @extend_schema_field(SampleSerializer(many=True))
    def get_people(self, tube: Tube) -> list[dict[str, Any]]:
        return list(SampleSerializer(tube.samples.all(), many=True).data)

    def create(self, validated_data: dict) -> Tube:
        return call_service(
            services.tube_open,
            round_id=validated_data["round"].pk,
            compound_id=validated_data["compound"].pk,
            barcode=validated_data["barcode"],
            kind=validated_data.get("kind") or TubeKind.POOL10,
            by=_user(self.context["request"]),
        )


class ScanSerializer(Serializer):
    narrow = {"resident": lambda rows: rows.current()}  # people living here now
    key = StrictCharField(
        min_length=8,
        max_length=64,
        help_text="The scan's idempotency key: the same scan sent twice is written once.",
    )
    code = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="The resident's code."
    )
    resident = serializers.PrimaryKeyRelatedField(
        queryset=Resident.objects.none(), required=False, help_text="Or the person, picked."
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("round", OpenApiTypes.INT, description="Round id."),
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("barcode", OpenApiTypes.STR, description="The tube's barcode."),
        ]
    )
)
class TubeViewSet(
    ScreeningView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Tubes with their people. POST opens one (its barcode scanned again returns the same
    tube); POST …/scan/ puts a person in (a full tube closes itself); POST …/close/ closes a
    tube that is not full."""

    serializer_class = TubeSerializer

    @staticmethod
    def may_read(user: Any) -> bool:
        return rules.may_sample(user)

    def get_queryset(self):
        qs = Tube.objects.visible_to(self.request.user).prefetch_related(
            "samples__resident", "samples__household__building"
        )
        if self.action == "list":
            params = self.request.query_params
            for name in ("round", "compound"):
                value = int_param(params, name)
                if value is not None:
                    qs = qs.filter(**{f"{name}_id": value})
            barcode = text_param(params, "barcode", max_length=40)
            if barcode:
                qs = qs.filter(barcode=barcode.strip().upper())
        return qs.order_by("-opened_at", "-id")

    @refusals(
        barcode=Refused(services.MSG_BARCODE, field="barcode"),
        elsewhere=lambda: Refused(
            services.MSG_BARCODE_ELSEWHERE % {"barcode": "GZ00012345"}, field="barcode"
        ),
        not_in_round=Refused(_("This compound is not in this round."), field="compound"),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=ScanSerializer, responses=TubeSerializer)
    @refusals(
        full=lambda: Refused(
            services.MSG_TUBE_FULL % {"barcode": "GZ00012345", "capacity": 10}, field="code"
        ),
        twice=lambda: Refused(
            services.MSG_TWICE % {"name": "张秀英", "barcode": "GZ00012345"}, field="code"
        ),
        other_compound=lambda: Refused(
            services.MSG_OTHER_COMPOUND % {"name": "张秀英"}, field="code"
        ),
    )
    @decorators.action(detail=True, methods=["post"])
    def scan(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        tube = self.get_object()
        body = ScanSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        resident = body.validated_data.get("resident")
        call_service(
            services.sample_add,
            tube_id=tube.pk,
            key=body.validated_data["key"],
            resident_id=resident.pk if resident else None,
            code=body.validated_data.get("code") or None,
            by=_user(request),
        )
        return Response(TubeSerializer(self.get_object(), context={"request": request}).data)

    @extend_schema(request=None, responses=TubeSerializer)
    @refusals(empty=Refused(_("An empty tube is not closed: scan someone in first.")))
    @decorators.action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        tube = self.get_object()
        call_service(services.tube_close, tube_id=tube.pk, by=_user(request))
        return Response(TubeSerializer(self.get_object(), context={"request": request}).data)


# ----------------------------------------------------------------------------- results


class ResultImportSerializer(ModelSerializer):
    class Meta:
        model = ResultImport
        fields = [
            "id",
            "round",
            "file_name",
            "rows",
            "matched",
            "positive_pools",
            "cases",
            "unmatched",
            "at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("round", OpenApiTypes.INT, description="Round id.")]
    )
)
class ResultImportViewSet(ScreeningView, viewsets.ReadOnlyModelViewSet):
    """The lab's result sheets committed for the rounds the user sees, and what each matched
    (a sheet is committed on the round's page or by `manage.py import_results`)."""

    serializer_class = ResultImportSerializer

    def get_queryset(self):
        qs = ResultImport.objects.visible_to(self.request.user)
        round_id = int_param(self.request.query_params, "round")
        if round_id is not None and self.action == "list":
            qs = qs.filter(round_id=round_id)
        return qs.distinct().order_by("-at", "-id")


# ----------------------------------------------------------------------------- cases, contacts


class QuarantineSerializer(ModelSerializer):
    name = serializers.CharField(source="resident.name", read_only=True)
    released = serializers.BooleanField(read_only=True)
    test_days = serializers.ListField(child=serializers.DateField(), read_only=True)

    class Meta:
        model = Quarantine
        fields = [
            "id",
            "compound",
            "resident",
            "name",
            "kind",
            "source",
            "place",
            "starts_on",
            "ends_on",
            "test_days",
            "released",
            "released_at",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Quarantine) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["test_days"] = [d.isoformat() for d in instance.test_days()]
        return data


class ContactSerializer(Serializer):
    narrow = {"resident": lambda rows: rows.current()}  # people living here now
    source = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Quarantine.objects.none(),
        help_text="The case (for a close contact) or close contact (for a secondary one).",
    )
    resident = serializers.PrimaryKeyRelatedField(queryset=Resident.objects.none())
    kind = serializers.ChoiceField(choices=[PersonKind.CLOSE, PersonKind.SECONDARY])
    place = serializers.ChoiceField(choices=Place.choices)
    starts_on = serializers.DateField()
    days = serializers.IntegerField(min_value=1, max_value=rules.MAX_QUARANTINE_DAYS, default=7)


def _kind_filter(qs, params):
    compound = int_param(params, "compound")
    if compound is not None:
        qs = qs.filter(compound_id=compound)
    state = choice_param(params, "state", ["open", "released"])
    if state == "open":
        qs = qs.filter(released_at__isnull=True)
    elif state == "released":
        qs = qs.filter(released_at__isnull=False)
    return qs


LIST_PARAMETERS = [
    OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
    OpenApiParameter(
        "state", OpenApiTypes.STR, enum=["open", "released"], description="Open or released."
    ),
]


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class CaseViewSet(ScreeningView, viewsets.ReadOnlyModelViewSet):
    """Positive cases: a case is made only by a positive single tube (the result sheet)."""

    serializer_class = QuarantineSerializer

    def get_queryset(self):
        qs = Quarantine.objects.visible_to(self.request.user).filter(kind=PersonKind.CASE)
        if self.action == "list":
            qs = _kind_filter(qs, self.request.query_params)
        return qs.select_related("resident").order_by("-created_at", "-id")


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class ContactViewSet(
    ScreeningView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Close and secondary close contacts and people in home isolation, with where they are
    kept, their span and test days. POST records a contact of a case (or a secondary one of a
    close contact); POST …/release/ releases anyone, a case included, after which no
    reminder, list or count includes them."""

    serializer_class = QuarantineSerializer

    def get_queryset(self):
        qs = Quarantine.objects.visible_to(self.request.user)
        if self.action == "list":
            qs = _kind_filter(qs.exclude(kind=PersonKind.CASE), self.request.query_params)
        return qs.select_related("resident").order_by("-created_at", "-id")

    @extend_schema(request=ContactSerializer, responses={201: QuarantineSerializer})
    @refusals(
        kind=Refused(
            _("A close contact comes from a case, a secondary one from a close contact."),
            field="kind",
        ),
        own=Refused(_("A person is not their own contact."), field="resident"),
        future=Refused(_("A quarantine starts today or earlier."), field="starts_on"),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ContactSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        contact = call_service(
            services.contact_add,
            source_id=data.pop("source").pk,
            resident_id=data.pop("resident").pk,
            by=_user(request),
            **data,
        )
        return Response(QuarantineSerializer(contact).data, status=201)

    @extend_schema(request=None, responses=QuarantineSerializer)
    @decorators.action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        record = self.get_object()
        released = call_service(
            services.quarantine_release, quarantine_id=record.pk, by=_user(request)
        )
        return Response(QuarantineSerializer(released).data)


# ----------------------------------------------------------------------------- health reports


class HealthReportSerializer(ModelSerializer):
    quarantine = serializers.PrimaryKeyRelatedField(queryset=Quarantine.objects.none())
    day = serializers.DateField(required=False, help_text="Today unless given.")

    class Meta:
        model = HealthReport
        fields = ["id", "quarantine", "compound", "day", "temperature", "symptoms", "at"]
        read_only_fields = ["compound", "at"]
        # A second report the same day replaces the first (services.health_report_add).
        validators: list = []

    def create(self, validated_data: dict) -> HealthReport:
        return call_service(
            services.health_report_add,
            quarantine_id=validated_data["quarantine"].pk,
            temperature=validated_data["temperature"],
            symptoms=validated_data.get("symptoms", ""),
            day=validated_data.get("day"),
            by=_user(self.context["request"]),
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("quarantine", OpenApiTypes.INT, description="Case or contact id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Day, e.g. 2026-12-01."),
        ]
    )
)
class HealthReportViewSet(
    ScreeningView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Daily health reports (temperature, symptoms) of people in quarantine: one a day, a
    second the same day replaces the first; none for someone released."""

    serializer_class = HealthReportSerializer

    @staticmethod
    def may_read(user: Any) -> bool:
        return rules.may_report_health(user)

    def get_queryset(self):
        qs = HealthReport.objects.visible_to(self.request.user)
        if self.action == "list":
            params = self.request.query_params
            quarantine = int_param(params, "quarantine")
            if quarantine is not None:
                qs = qs.filter(quarantine_id=quarantine)
            day = date_param(params, "date")
            if day is not None:
                qs = qs.filter(day=day)
        return qs.order_by("-day", "-id")

    @refusals(
        released=lambda: Refused(services.MSG_RELEASED % {"name": "张秀英", "date": "2026-12-08"}),
        temperature=Refused(_("Write the temperature as 36.5."), field="temperature"),
        day=Refused(_("A report is for a day of the quarantine, up to today."), field="day"),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)
