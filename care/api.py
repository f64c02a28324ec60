"""API for care: the day's welfare checks (and recording one) and the needs they bring up.
Reads go through visible_to; writes through the same services as the pages, whose refusals
are 400s with the same messages."""

from typing import cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import decorators, exceptions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from wuyi.lib.drf import ApiView, ModelSerializer, StrictCharField, refusals
from wuyi.lib.errors import Refused
from wuyi.lib.params import choice_param, date_param, int_param

from . import rules, services
from .forms import RECORDABLE
from .models import Mood, Need, NeedKind, WelfareCheck


class WelfareCheckSerializer(ModelSerializer):
    resident_name = serializers.CharField(source="resident.name", read_only=True)

    class Meta:
        model = WelfareCheck
        fields = [
            "id",
            "date",
            "compound",
            "resident",
            "resident_name",
            "category",
            "volunteer",
            "outcome",
            "mood",
            "note",
            "done_at",
        ]
        read_only_fields = fields


class RecordSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RECORDABLE)
    mood = serializers.ChoiceField(choices=Mood.choices, required=False, allow_blank=True)
    note = StrictCharField(max_length=rules.NOTE_MAX, required=False, allow_blank=True)
    need_kind = serializers.ChoiceField(choices=NeedKind.choices, required=False, allow_blank=True)
    need_text = StrictCharField(max_length=rules.NOTE_MAX, required=False, allow_blank=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Day, e.g. 2026-12-01."),
            OpenApiParameter(
                "state", OpenApiTypes.STR, enum=["open", "done"], description="Open or done."
            ),
        ]
    )
)
class WelfareCheckViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Welfare checks of vulnerable residents. POST …/record/ records how one went (by its
    volunteer or the secretary, on its day only); a check reassigned meanwhile is refused."""

    serializer_class = WelfareCheckSerializer

    def get_queryset(self):
        qs = WelfareCheck.objects.visible_to(self.request.user).select_related(
            "resident", "volunteer"
        )
        if self.action == "list":
            params = self.request.query_params
            compound = int_param(params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            day = date_param(params, "date")
            if day is not None:
                qs = qs.filter(date=day)
            state = choice_param(params, "state", ["open", "done"])
            if state == "open":
                qs = qs.filter(outcome="open")
            elif state == "done":
                qs = qs.exclude(outcome="open")
        return qs.order_by("date", "id")

    @extend_schema(request=RecordSerializer, responses=WelfareCheckSerializer)
    @refusals(
        not_yours=Refused(rules.MSG_NOT_YOURS),
        other_day=lambda: Refused(rules.MSG_OTHER_DAY % {"date": "2026-12-08"}),
    )
    @decorators.action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = RecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            check = services.check_record(
                by=cast(User, request.user), check=self.get_object(), **body.validated_data
            )
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response(WelfareCheckSerializer(check).data)


class NeedSerializer(ModelSerializer):
    class Meta:
        model = Need
        fields = ["id", "compound", "resident", "kind", "text", "status", "created_at"]
        read_only_fields = fields


class NeedViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Needs residents told a volunteer at a welfare check, for the secretary."""

    serializer_class = NeedSerializer

    def get_queryset(self):
        return Need.objects.visible_to(self.request.user).order_by("-created_at", "id")
