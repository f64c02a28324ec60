from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("", views.index, name="index"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/close/", views.round_close, name="round_close"),
    path("rounds/<int:pk>/import/", views.results_import, name="import"),
    path("rounds/<int:pk>/compounds/<int:cpk>/", views.round_compound, name="compound"),
    path("rounds/<int:pk>/compounds/<int:cpk>/sample/", views.sample, name="sample"),
    path("rounds/<int:pk>/compounds/<int:cpk>/exempt/", views.exempt, name="exempt"),
    path("rounds/<int:pk>/compounds/<int:cpk>/doors/", views.door_list, name="door_list"),
    path("rounds/<int:pk>/compounds/<int:cpk>/slots/", views.slot_add, name="slot_add"),
    path("slots/<int:pk>/remove/", views.slot_remove, name="slot_remove"),
    path("tubes/<int:pk>/", views.tube_detail, name="tube"),
    path("tubes/<int:pk>/close/", views.tube_close, name="tube_close"),
    path("compounds/<int:cpk>/cards/", views.door_cards, name="cards"),
    path("cases/", views.cases, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/report/", views.health_report, name="report"),
    path("cases/<int:pk>/release/", views.release, name="release"),
]
