from django.urls import path

from . import views

app_name = "sanitation"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("week/", views.week, name="week"),
    path("compounds/<int:pk>/", views.compound_day, name="compound"),
    path("compounds/<int:pk>/generate/", views.generate, name="generate"),
    path("compounds/<int:pk>/rounds/add/", views.round_add, name="round_add"),
    path("compounds/<int:pk>/areas/", views.areas, name="areas"),
    path("compounds/<int:pk>/areas/defaults/", views.areas_defaults, name="areas_defaults"),
    path("compounds/<int:pk>/areas/add/", views.area_edit, name="area_add"),
    path("compounds/<int:pk>/areas/<int:area_pk>/", views.area_edit, name="area_edit"),
    path("compounds/<int:pk>/qr/", views.qr_sheets, name="qr"),
    path("compounds/<int:pk>/qr/replace/", views.qr_rotate, name="qr_rotate"),
    path("q/<str:token>/", views.scan, name="scan"),
    # The codes printed before codes were signed: a refusal page, whatever the id.
    path("a/<int:pk>/", views.scan_retired, name="scan_retired"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/done/", views.round_done, name="done"),
    path("rounds/<int:pk>/assign/", views.round_assign, name="assign"),
    path("rounds/<int:pk>/photo/", views.round_photo, name="photo"),
    path("waste/", views.waste, name="waste"),
    path("waste/<int:pk>/", views.waste_edit, name="waste_edit"),
]
