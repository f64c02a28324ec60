"""API of the campaign: the district's checklist, each compound's assessment and its
certificates (read), publicity records (read and record). Reads go through visible_to; a
record goes through the same service as the page, whose refusals are 400s with its messages."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from compounds.models import Compound
from wuyi.lib.drf import ApiView, ModelSerializer, call_service, refusals
from wuyi.lib.errors import Refused
from wuyi.lib.params import date_param, int_param

from . import rules, selectors, services
from .models import Certificate, Checklist, ChecklistGroup, ChecklistItem, PublicityRecord


class ReadersOnly(permissions.BasePermission):
    """The campaign is not in other roles' reach: their reads answer 404, as an object out of
    reach does (the API's reads document no 403); a write is refused with 403."""

    message = _("The campaign is run by district, sub-district and community staff.")

    def has_permission(self, request, view) -> bool:
        # A method the view does not serve is its 405, whoever asks.
        if rules.may_read(request.user) or not hasattr(view, request.method.lower()):
            return True
        if request.method in permissions.SAFE_METHODS:
            raise exceptions.NotFound
        return False


class ItemSerializer(ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "text", "kind", "needs_evidence", "position"]


class GroupSerializer(ModelSerializer):
    items = serializers.SerializerMethodField()

    class Meta:
        model = ChecklistGroup
        fields = ["id", "title", "position", "items"]

    @extend_schema_field(ItemSerializer(many=True))
    def get_items(self, group: ChecklistGroup) -> list[dict[str, Any]]:
        current = [i for i in group.items.all() if i.retired_at is None]
        return list(ItemSerializer(current, many=True).data)


class ChecklistSerializer(ModelSerializer):
    groups = GroupSerializer(many=True, read_only=True)

    class Meta:
        model = Checklist
        fields = ["id", "district", "no_case_days", "rounds", "coverage", "updated_at", "groups"]


class ChecklistViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = ChecklistSerializer
    permission_classes = [permissions.IsAuthenticated, ReadersOnly]

    def get_queryset(self):
        return (
            Checklist.objects.visible_to(self.request.user)
            .prefetch_related("groups__items")
            .order_by("id")
        )


class ItemResultSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item.pk")
    text = serializers.CharField(source="item.text")
    kind = serializers.CharField(source="item.kind")
    met = serializers.BooleanField()
    why = serializers.CharField()
    checked_by = serializers.CharField(source="check.checked_by.display_name", default="")
    checked_at = serializers.DateTimeField(source="check.checked_at", default=None, allow_null=True)


class AssessmentSerializer(serializers.Serializer):
    compound = serializers.IntegerField(source="compound.pk")
    name = serializers.CharField(source="compound.name")
    stage = serializers.CharField()
    eligible = serializers.BooleanField()
    why_not = serializers.CharField()
    days_to_eligible = serializers.IntegerField(allow_null=True)
    certificate = serializers.IntegerField(source="certificate.pk", default=None, allow_null=True)
    items = ItemResultSerializer(many=True)


@extend_schema_view(
    list=extend_schema(
        description="Each compound's assessment, 50 a page.",
        parameters=[OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id.")],
        responses=AssessmentSerializer(many=True),
    ),
    retrieve=extend_schema(
        description="One compound's assessment (the id is the compound's).",
        responses=AssessmentSerializer,
    ),
)
class AssessmentViewSet(ApiView, viewsets.GenericViewSet):
    """Each compound's items met or not, against its district's current checklist."""

    serializer_class = AssessmentSerializer
    permission_classes = [permissions.IsAuthenticated, ReadersOnly]

    def get_queryset(self):
        qs = Compound.objects.visible_to(self.request.user).order_by("community_id", "name")
        compound = int_param(self.request.query_params, "compound")
        if compound is not None and self.action == "list":
            qs = qs.filter(pk=compound)
        return qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        evaluations = selectors.evaluate(list(page or []))
        data = AssessmentSerializer(list(evaluations.values()), many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        compound = self.get_object()
        return Response(AssessmentSerializer(selectors.evaluate_one(compound)).data)


class CertificateSerializer(ModelSerializer):
    class Meta:
        model = Certificate
        fields = [
            "id",
            "compound",
            "number",
            "status",
            "certified_at",
            "certified_by",
            "figures",
            "revoked_at",
            "revoke_reason",
        ]


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id.")]
    )
)
class CertificateViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = CertificateSerializer
    permission_classes = [permissions.IsAuthenticated, ReadersOnly]

    def get_queryset(self):
        qs = Certificate.objects.visible_to(self.request.user)
        compound = int_param(self.request.query_params, "compound")
        if compound is not None and self.action == "list":
            qs = qs.filter(compound_id=compound)
        return qs.order_by("-certified_at", "-id")


class PublicitySerializer(ModelSerializer):
    class Meta:
        model = PublicityRecord
        fields = ["id", "community", "day", "kind", "count", "place", "note", "recorded_by"]
        read_only_fields = ["recorded_by"]

    def create(self, validated_data: dict) -> PublicityRecord:
        request = self.context.get("request")
        data = dict(validated_data)
        return call_service(
            services.publicity_record,
            community_id=data.pop("community").pk,
            by=getattr(request, "user", None),
            **data,
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("community", OpenApiTypes.INT, description="Community id."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day."),
        ]
    )
)
class PublicityViewSet(
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PublicitySerializer
    permission_classes = [permissions.IsAuthenticated, ReadersOnly]

    def get_queryset(self):
        qs = PublicityRecord.objects.visible_to(self.request.user)
        if self.action == "list":
            params = self.request.query_params
            community = int_param(params, "community")
            if community is not None:
                qs = qs.filter(community_id=community)
            start, end = date_param(params, "from"), date_param(params, "to")
            if start is not None:
                qs = qs.filter(day__gte=start)
            if end is not None:
                qs = qs.filter(day__lte=end)
        return qs.order_by("-day", "-id")

    @refusals(
        count_low=Refused(rules.MSG_COUNT_LOW, field="count"),
        count_high=lambda: Refused(
            rules.MSG_COUNT_HIGH % {"count": "1,000,001", "max": "1,000,000"}, field="count"
        ),
        future=Refused(rules.MSG_DAY_FUTURE, field="day"),
    )
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)
