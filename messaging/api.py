"""API for SMS: the approved templates, campaigns (list, read, create, cancel) and their results.

Reads go through visible_to; only those who may read campaigns (rules.may_read) see any. A
campaign is written only by services.campaign_create, with every rule the compose page has:
a refusal is a 400 with the page's message, field by field. Numbers leave masked.
"""

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import decorators, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from wuyi.lib.drf import ApiView, StrictBooleanField, StrictCharField

from . import registry, rules, selectors, services
from .models import Message, SmsTemplate


class ComposersMayWrite(permissions.BasePermission):
    message = _("Only the community secretary sends SMS campaigns.")

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or rules.may_compose(request.user)


class SmsTemplateSerializer(serializers.ModelSerializer):
    variables = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SmsTemplate
        fields = ["id", "name", "code", "body", "variables", "approved"]
        read_only_fields = fields


class SmsTemplateViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """The provider-approved templates a campaign may use (and those awaiting approval)."""

    serializer_class = SmsTemplateSerializer

    def get_queryset(self):
        if not rules.may_read(self.request.user):
            return SmsTemplate.objects.none()
        return SmsTemplate.objects.order_by("name")


class CampaignSerializer(serializers.ModelSerializer):
    template_name = serializers.CharField(source="template.name", read_only=True)
    text = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "template",
            "template_name",
            "variables",
            "text",
            "purpose",
            "audience",
            "description",
            "send_at",
            "urgent",
            "recipient_count",
            "segments",
            "cost_estimate",
            "status",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_status(self, message: Message) -> str:
        """scheduled, sending, done or cancelled ("sending" until results say all went)."""
        return selectors.message_status(message)


class CampaignCreateSerializer(serializers.Serializer):
    template = serializers.IntegerField(min_value=1, help_text=_("An approved template's id."))
    variables = serializers.DictField(
        child=StrictCharField(max_length=rules.VALUE_MAX, allow_blank=True),
        help_text=_('The template\'s variables, each a short text: {"gate": "东门"}.'),
    )
    audience = serializers.ChoiceField(choices=[])
    targets = serializers.ListField(
        child=StrictCharField(max_length=100),
        max_length=rules.MAX_ADHOC,
        help_text=_(
            "What the audience builder offers: compound or building ids, ledger categories, "
            "quarantine kinds, or mobile numbers (messaging.numbers)."
        ),
    )
    send_at = serializers.DateTimeField(required=False, allow_null=True)
    urgent = StrictBooleanField(required=False, default=False)
    idempotency_key = StrictCharField(
        required=False,
        max_length=100,
        help_text=_("The same key never sends twice: a retried request returns the first."),
    )
    community = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=_(
            "The community that sends and pays, for someone posted to several (or an "
            "administrator) when the audience lies in no single community."
        ),
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["audience"].choices = [b.key for b in registry.audiences()]
        return fields


class ResultsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    sent = serializers.IntegerField(help_text=_("Handed to the provider."))
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    waiting = serializers.IntegerField()
    delivery_rate = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.DictField())


class CampaignViewSet(
    ApiView,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [permissions.IsAuthenticated, ComposersMayWrite]

    def get_serializer_class(self):
        return CampaignCreateSerializer if self.action == "create" else CampaignSerializer

    def get_queryset(self):
        if not rules.may_read(self.request.user):
            return Message.objects.none()
        return selectors.messages_for(self.request.user)

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CampaignCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        message = services.campaign_create(
            by=cast(User, request.user),
            template_id=data["template"],
            variables=data["variables"],
            audience=data["audience"],
            targets=data["targets"],
            send_at=data.get("send_at"),
            urgent=data.get("urgent", False),
            idempotency_key=data.get("idempotency_key") or None,
            community=data.get("community"),
        )
        return Response(CampaignSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CampaignSerializer)
    @decorators.action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Cancel what has not gone out yet (a scheduled campaign, or the rest of one)."""
        message = self.get_object()
        services.campaign_cancel(by=cast(User, request.user), message_id=message.pk)
        message.refresh_from_db()
        return Response(CampaignSerializer(message).data)

    @extend_schema(responses=ResultsSerializer)
    @decorators.action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        """Counts by status, the delivery rate and the commonest failure reasons."""
        found = selectors.message_results(message=self.get_object())
        return Response(
            ResultsSerializer(
                {
                    "total": found.total,
                    "counts": found.counts,
                    "sent": found.done,
                    "delivered": found.delivered,
                    "failed": found.failed,
                    "waiting": found.waiting,
                    "delivery_rate": found.delivery_rate,
                    "reasons": [{"reason": r, "count": n} for r, n in found.reasons],
                }
            ).data
        )
