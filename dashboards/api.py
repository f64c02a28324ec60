"""The overview's figures, alerts and charts as JSON: the same as the page, scoped alike."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import get_visible_or_404
from wuyi.lib.drf import ApiView
from wuyi.lib.params import choice_param, int_param

from .rules import may_see_overview
from .selectors import dashboard
from .views import _MODELS


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    section = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    note = serializers.CharField()
    url = serializers.CharField()


class AlertItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    count = serializers.IntegerField()
    url = serializers.CharField()
    danger = serializers.BooleanField()
    # The places the alert names (a few), each with where to put it right.
    items = AlertItemSerializer(many=True, source="named")


class SeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    values = serializers.ListField(child=serializers.FloatField(allow_null=True))


class ChartSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    series = SeriesSerializer(many=True)


class OverviewSerializer(serializers.Serializer):
    level = serializers.CharField(allow_null=True)
    id = serializers.IntegerField(allow_null=True)
    figures = FigureSerializer(many=True)
    alerts = AlertSerializer(many=True)
    charts = ChartSerializer(many=True)


class OverviewReaders(permissions.BasePermission):
    """The overview is for staff and secretaries: to anyone else it answers 404, as a place
    out of reach does (the API's reads document no 403)."""

    def has_permission(self, request, view) -> bool:
        # A method the view does not serve (TRACE) is its 405, whoever asks.
        if hasattr(view, request.method.lower()) and not may_see_overview(request.user):
            raise exceptions.NotFound
        return True


class OverviewView(ApiView):
    """The overview of one place (`level` and `id`), or of everything the user may see."""

    permission_classes = [permissions.IsAuthenticated, OverviewReaders]
    lookup_query_params = ("id",)  # a place out of reach (or none named) is a 404

    @extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.STR, enum=list(_MODELS)),
            OpenApiParameter("id", OpenApiTypes.INT),
        ],
        responses=OverviewSerializer,
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        level = choice_param(request.query_params, "level", list(_MODELS)) or None
        place_id = int_param(request.query_params, "id")
        if level is not None:
            get_visible_or_404(_MODELS[level], request.user, pk=place_id or 0)
        board = dashboard(user=request.user, level=level, place_id=place_id if level else None)
        data = {
            "level": level,
            "id": place_id if level else None,
            "figures": board.figures,
            "alerts": board.alerts,
            "charts": [
                {
                    "key": c.key,
                    "title": c.title,
                    "kind": c.kind,
                    "labels": c.labels,
                    "series": [{"name": n, "values": v} for n, v in c.series],
                }
                for c in board.charts
            ],
        }
        return Response(OverviewSerializer(data).data)
