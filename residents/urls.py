from django.urls import path

from . import household_views, picker, views

app_name = "residents"

urlpatterns = [
    path("", views.resident_list, name="list"),
    path("pick/", picker.pick, name="pick"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/edit/", views.resident_edit, name="edit"),
    path("<int:pk>/reveal/", views.resident_reveal, name="reveal"),
    path("<int:pk>/leave/", views.resident_leave, name="leave"),
    path("<int:pk>/call/", views.resident_call, name="call"),
    path("<int:pk>/tags/", views.tag_add, name="tag_add"),
    path("<int:pk>/tags/<int:tag_pk>/remove/", views.tag_remove, name="tag_remove"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("households/add/", views.household_add, name="household_add"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("households/<int:pk>/merge/", views.household_merge, name="household_merge"),
    path(
        "households/<int:pk>/link/",
        household_views.household_link_renew,
        name="household_link_renew",
    ),
    path("h/<str:token>/", household_views.household_link, name="household_link"),
    path(
        "h/<str:token>/<str:action>/",
        household_views.household_action,
        name="household_action",
    ),
    path("households/<int:household_pk>/add/", views.resident_create, name="create"),
    path("ledger/", views.ledger, name="ledger"),
    path("export/", views.export, name="export"),
    path("export/full/", views.export_full, name="export_full"),
    path("import/", views.import_start, name="import"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
    path("import/<int:pk>/commit/", views.import_commit, name="import_commit"),
    path("import/<int:pk>/retry/", views.import_retry, name="import_retry"),
    path("import/<int:pk>/map/", views.import_map, name="import_map"),
    path("import/template/", views.import_template, name="import_template"),
]
