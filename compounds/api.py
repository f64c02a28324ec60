"""Read endpoints for the place tree, scoped by visible_to like every other read."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from wuyi.lib.drf import ApiView
from wuyi.lib.params import choice_param, int_param, text_param

from . import selectors
from .models import Building, Compound, ControlStatus


class CompoundSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    days_since_positive = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Compound
        fields = [
            "id",
            "code",
            "name",
            "address",
            "community",
            "community_name",
            "subdistrict",
            "district",
            "status",
            "status_changed_at",
            "last_positive_on",
            "days_since_positive",
        ]
        read_only_fields = fields  # the API reads compounds; their pages and services write


class BuildingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Building
        fields = ["id", "compound", "number", "name", "unit_count", "floor_count"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ControlStatus.values),
            OpenApiParameter("q", OpenApiTypes.STR, description="Name, code or address."),
        ]
    )
)
class CompoundViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = CompoundSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.compound_list(
            user=self.request.user,
            status=choice_param(params, "status", ControlStatus.values),
            query=text_param(params, "q", max_length=100),
        )


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("compound", OpenApiTypes.INT)]))
class BuildingViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = BuildingSerializer

    def get_queryset(self):
        qs = Building.objects.visible_to(self.request.user).order_by("compound_id", "number")
        compound = int_param(self.request.query_params, "compound")
        if compound is not None:
            qs = qs.filter(compound_id=compound)
        return qs
