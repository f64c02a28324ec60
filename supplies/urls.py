from django.urls import path

from . import views

app_name = "supplies"

urlpatterns = [
    path("", views.board, name="board"),
    path("suppliers/", views.suppliers, name="suppliers"),
    path("buys/add/", views.buy_add, name="buy_add"),
    path("buys/<int:pk>/", views.buy_detail, name="buy"),
    path("buys/<int:pk>/advance/", views.buy_advance, name="buy_advance"),
    path("buys/<int:pk>/picking/", views.picking, name="picking"),
    path("buys/<int:pk>/money/", views.reconciliation, name="reconciliation"),
    path("buys/<int:pk>/money.xlsx", views.reconciliation_xlsx, name="reconciliation_xlsx"),
    path("buys/<int:pk>/order/", views.order_add, name="order_add"),
    path("orders/", views.orders, name="orders"),
    path("orders/proxy/", views.proxy_add, name="proxy_add"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/status/", views.order_status, name="order_status"),
    path("orders/<int:pk>/pay/", views.order_pay, name="order_pay"),
    path("orders/<int:pk>/unpay/", views.order_unpay, name="order_unpay"),
    path("orders/<int:pk>/deliver/", views.deliver, name="deliver"),
    path("orders/<int:pk>/call/", views.order_call, name="call"),
    path("orders/<int:pk>/photo/", views.order_photo, name="photo"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/buildings/<int:pk>/claim/", views.claim, name="claim"),
    path("figures/", views.figures, name="figures"),
    path("links/", views.links, name="links"),
    path("links/<int:pk>/poster/", views.link_poster, name="poster"),
    path("r/<str:token>/", views.self_order, name="self"),
]
