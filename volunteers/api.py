"""API for volunteers: teams, volunteers, shifts, check-in and check-out, my tasks today.

Reads through visible_to (an id outside the user's reach is a 404); check-in and check-out
go through the same services as the phone view. Phones leave masked.
"""

from typing import cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import decorators, mixins, serializers, views, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from wuyi.lib.drf import ApiView
from wuyi.lib.params import date_param, int_param

from . import registry, services
from .models import Assignment, Shift, Team, Volunteer


class TeamSerializer(serializers.ModelSerializer):
    compounds: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Team
        fields = ["id", "community", "name", "kind", "leader", "compounds"]
        read_only_fields = fields  # read here; teams are organised on their pages


class VolunteerSerializer(serializers.ModelSerializer):
    phone_masked = serializers.CharField(source="masked_phone", read_only=True)
    teams = serializers.SerializerMethodField()

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "community",
            "name",
            "phone_masked",
            "is_party_member",
            "is_veteran",
            "teams",
        ]
        read_only_fields = fields

    def get_teams(self, volunteer: Volunteer) -> list[int]:
        return [m.team_id for m in volunteer.memberships.all()]


class AssignmentSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "shift", "volunteer", "volunteer_name", "checked_in_at", "checked_out_at"]
        read_only_fields = fields


class ShiftSerializer(serializers.ModelSerializer):
    assignments = AssignmentSerializer(many=True, read_only=True)

    class Meta:
        model = Shift
        fields = ["id", "compound", "name", "date", "starts_at", "ends_at", "needed", "assignments"]
        read_only_fields = fields


class TaskSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    done = serializers.BooleanField()
    done_url = serializers.CharField()


class TodaySerializer(serializers.Serializer):
    date = serializers.DateField()
    shifts = AssignmentSerializer(many=True)
    tasks = TaskSerializer(many=True)


class TeamViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer

    def get_queryset(self):
        return (
            Team.objects.visible_to(self.request.user)
            .prefetch_related("compounds")
            .order_by("community_id", "name")
        )


class VolunteerViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = VolunteerSerializer

    def get_queryset(self):
        return (
            Volunteer.objects.visible_to(self.request.user)
            .prefetch_related("memberships")
            .order_by("community_id", "name")
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("compound", OpenApiTypes.INT, description="Compound id."),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Day, e.g. 2026-12-01."),
        ]
    )
)
class ShiftViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    serializer_class = ShiftSerializer

    def get_queryset(self):
        qs = Shift.objects.visible_to(self.request.user).prefetch_related("assignments__volunteer")
        if self.action == "list":
            params = self.request.query_params
            compound = int_param(params, "compound")
            if compound is not None:
                qs = qs.filter(compound_id=compound)
            day = date_param(params, "date")
            if day is not None:
                qs = qs.filter(date=day)
        return qs.order_by("starts_at", "id")


class AssignmentViewSet(ApiView, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A volunteer's place on a shift: check in when arriving, out when leaving."""

    serializer_class = AssignmentSerializer

    def get_queryset(self):
        return Assignment.objects.visible_to(self.request.user).select_related("shift", "volunteer")

    @extend_schema(request=None, responses=AssignmentSerializer)
    @decorators.action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        assignment = services.check_in(by=cast(User, request.user), assignment=self.get_object())
        return Response(AssignmentSerializer(assignment).data)

    @extend_schema(request=None, responses=AssignmentSerializer)
    @decorators.action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        assignment = services.check_out(by=cast(User, request.user), assignment=self.get_object())
        return Response(AssignmentSerializer(assignment).data)


class TodayView(views.APIView):
    """My shifts and tasks today (the phone view's data)."""

    @extend_schema(responses=TodaySerializer)
    def get(self, request: Request, **kwargs: object) -> Response:
        from . import selectors

        day = timezone.localdate()
        data = {
            "date": day,
            "shifts": selectors.my_assignments(user=cast(User, request.user), day=day),
            "tasks": registry.tasks_for(request.user, day),
        }
        return Response(TodaySerializer(data).data)
