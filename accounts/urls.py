from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("read/", views.alerts_read_all, name="read_all"),
    path("<int:pk>/", views.alert_open, name="open"),
    path("<int:pk>/read/", views.alert_read, name="read"),
]
