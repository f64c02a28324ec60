from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("", views.message_list, name="list"),
    path("new/", views.compose, name="compose"),
    path("<int:pk>/", views.message_detail, name="detail"),
    path("<int:pk>/cancel/", views.message_cancel, name="cancel"),
    path("opt-outs/", views.opt_outs, name="opt_outs"),
    path("opt-outs/<int:pk>/remove/", views.opt_out_remove, name="opt_out_remove"),
    path("daily/", views.daily, name="daily"),
    path("budgets/", views.budget_list, name="budgets"),
    path("budgets/<int:pk>/", views.budget_edit, name="budget_edit"),
    path("receipts/<str:provider>/", views.receipts, name="receipts"),
]
