"""API for supplies: the catalogue, group buys, orders (entry is idempotent by client key) and
the delivery actions (claim a building, delivered with the code, failed, paid). Reads go
through visible_to; writes through the same services as the pages, whose refusals are 400s
with the same messages."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import decorators, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from compounds.models import Building
from residents.models import Household
from wuyi.lib.drf import (
    ApiView,
    ModelSerializer,
    Serializer,
    StrictBooleanField,
    StrictCharField,
    call_service,
)
from wuyi.lib.params import choice_param, int_param

from . import services
from .models import (
    CatalogueItem,
    DeliveredHow,
    GroupBuy,
    GroupBuyItem,
    GroupBuyStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)


class CatalogueItemSerializer(serializers.ModelSerializer):
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)

    class Meta:
        model = CatalogueItem
        fields = ["id", "supplier", "supplier_name", "name", "unit", "price", "active"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("supplier", OpenApiTypes.INT, description="Supplier id.")]
    )
)
class CatalogueViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """The suppliers' catalogue the user's communities buy from."""

    serializer_class = CatalogueItemSerializer

    def get_queryset(self):
        qs = CatalogueItem.objects.visible_to(self.request.user).select_related("supplier")
        if self.action == "list":
            supplier = int_param(self.request.query_params, "supplier")
            if supplier is not None:
                qs = qs.filter(supplier_id=supplier)
        return qs.order_by("supplier_id", "name", "id")


class GroupBuyItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = GroupBuyItem
        fields = ["id", "name", "unit", "price", "max_per_order"]
        read_only_fields = fields


class GroupBuySerializer(serializers.ModelSerializer):
    items = GroupBuyItemSerializer(many=True, read_only=True)
    supplier_name = serializers.CharField(source="supplier.name", read_only=True)

    class Meta:
        model = GroupBuy
        fields = [
            "id",
            "title",
            "supplier",
            "supplier_name",
            "compounds",
            "deadline",
            "delivery_date",
            "status",
            "items",
        ]
        read_only_fields = fields


class AdvanceSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=GroupBuyStatus.choices)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=GroupBuyStatus.values, description="Status."
            )
        ]
    )
)
class GroupBuyViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """Group buys. POST …/advance/ moves one on (open → closed → purchased → delivering →
    done), which moves its orders too."""

    serializer_class = GroupBuySerializer

    def get_queryset(self):
        qs = (
            GroupBuy.objects.visible_to(self.request.user)
            .select_related("supplier")
            .prefetch_related("items", "compounds")
        )
        if self.action == "list":
            wanted = choice_param(self.request.query_params, "status", GroupBuyStatus.values)
            if wanted:
                qs = qs.filter(status=wanted)
        return qs.order_by("-deadline", "-id")

    @extend_schema(request=AdvanceSerializer, responses=GroupBuySerializer)
    @decorators.action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = AdvanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        buy = call_service(
            services.group_buy_advance,
            by=request.user,
            group_buy=self.get_object(),
            to=body.validated_data["to"],
        )
        return Response(GroupBuySerializer(self.get_queryset().get(pk=buy.pk)).data)


class OrderLineSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="item.name", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["item", "name", "quantity", "price"]
        read_only_fields = fields


class OrderSerializer(ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    address = serializers.CharField(source="household.address", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "compound",
            "building",
            "household",
            "address",
            "kind",
            "group_buy",
            "status",
            "urgent",
            "amount_due",
            "payment_method",
            "paid",
            "claimed_by",
            "delivered_how",
            "delivered_at",
            "submitted_at",
            "lines",
        ]
        read_only_fields = fields


class OrderCreateSerializer(Serializer):
    # Scoped per request (ScopedRelations): an id out of reach is "invalid", as one that
    # does not exist.
    group_buy = serializers.PrimaryKeyRelatedField(queryset=GroupBuy.objects.none())
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.none())
    quantities = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="{group-buy item id: quantity}; quantities from 0 to the item's limit.",
    )
    client_key = StrictCharField(
        max_length=64, help_text="One per order the client makes: a retry returns the order."
    )
    phone = StrictCharField(max_length=20, required=False, allow_blank=True)
    note = StrictCharField(max_length=200, required=False, allow_blank=True)


class ClaimSerializer(Serializer):
    building = serializers.PrimaryKeyRelatedField(queryset=Building.objects.none())


class DeliveredSerializer(serializers.Serializer):
    how = serializers.ChoiceField(choices=DeliveredHow.choices)
    code = StrictCharField(max_length=6, required=False, allow_blank=True)


class PaySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    paid = StrictBooleanField(default=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=OrderStatus.values, description="Status."
            ),
            OpenApiParameter("group_buy", OpenApiTypes.INT, description="Group buy id."),
            OpenApiParameter("building", OpenApiTypes.INT, description="Building id."),
            OpenApiParameter(
                "mine", OpenApiTypes.STR, enum=["1"], description="Only those I carry."
            ),
        ]
    )
)
class OrderViewSet(
    ApiView, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Household orders. POST creates one in a group buy (the same client_key returns the
    first); POST claim/ takes a building's bought orders; POST …/delivered/ (with the
    household's handover code), …/failed/ and …/pay/ act on one."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        qs = (
            Order.objects.visible_to(self.request.user)
            .select_related("household__building")
            .prefetch_related("lines__item")
        )
        if self.action == "list":
            params = self.request.query_params
            wanted = choice_param(params, "status", OrderStatus.values)
            if wanted:
                qs = qs.filter(status=wanted)
            for name in ("group_buy", "building"):
                value = int_param(params, name)
                if value is not None:
                    qs = qs.filter(**{f"{name}_id": value})
            if choice_param(params, "mine", ["1"]):
                qs = qs.filter(claimed_by=self.request.user)
        return qs.order_by("-submitted_at", "-id")

    def _out(self, order: Order, code: int = status.HTTP_200_OK) -> Response:
        return Response(OrderSerializer(self.get_queryset().get(pk=order.pk)).data, status=code)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = OrderCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = call_service(
            services.order_submit,
            by=request.user,
            household=data["household"],
            group_buy=data["group_buy"],
            quantities=data["quantities"],
            client_key=data["client_key"],
            phone=data.get("phone", ""),
            note=data.get("note", ""),
        )
        return self._out(order, status.HTTP_201_CREATED)

    @extend_schema(request=ClaimSerializer, responses=OrderSerializer(many=True))
    @decorators.action(detail=False, methods=["post"], pagination_class=None)
    def claim(self, request: Request, **kwargs: object) -> Response:
        body = ClaimSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        building = body.validated_data["building"]
        claimed = call_service(services.orders_claim, by=request.user, building=building)
        qs = self.get_queryset().filter(pk__in=[o.pk for o in claimed])
        return Response(OrderSerializer(qs, many=True).data)

    @extend_schema(request=DeliveredSerializer, responses=OrderSerializer)
    @decorators.action(detail=True, methods=["post"])
    def delivered(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = DeliveredSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = call_service(
            services.order_mark_delivered,
            by=request.user,
            order=self.get_object(),
            how=body.validated_data["how"],
            code=body.validated_data.get("code", ""),
        )
        return self._out(order)

    @extend_schema(request=None, responses=OrderSerializer)
    @decorators.action(detail=True, methods=["post"])
    def failed(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        order = call_service(services.order_mark_failed, by=request.user, order=self.get_object())
        return self._out(order)

    @extend_schema(request=PaySerializer, responses=OrderSerializer)
    @decorators.action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: str | None = None, **kwargs: object) -> Response:
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = call_service(
            services.order_record_payment,
            by=request.user,
            order=self.get_object(),
            method=body.validated_data["method"],
            paid=body.validated_data["paid"],
        )
        return self._out(order)
