from django.urls import path

from . import views

app_name = "compounds"

urlpatterns = [
    path("", views.compound_list, name="list"),
    path("<int:pk>/", views.compound_detail, name="detail"),
    path("<int:pk>/status/", views.compound_change_status, name="change_status"),
]
