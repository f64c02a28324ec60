from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("<str:level>/<int:pk>/", views.area, name="area"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:pk>/<str:day>/", views.report, name="report"),
    path("reports/<int:pk>/<str:day>.xlsx", views.report_xlsx, name="report_xlsx"),
]
