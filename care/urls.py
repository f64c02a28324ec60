from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("checks/<int:pk>/", views.check_detail, name="check"),
    path("checks/<int:pk>/assign/", views.check_assign, name="assign"),
    path("compounds/<int:pk>/", views.compound_day, name="compound"),
    path("compounds/<int:pk>/generate/", views.compound_generate, name="generate"),
    path("compounds/<int:pk>/served/", views.served, name="served"),
    path("needs/", views.needs, name="needs"),
    path("needs/<int:pk>/handle/", views.need_handle, name="need_handle"),
    path("needs/<int:pk>/turn/", views.need_turn, name="need_turn"),
    path("plans/", views.plans, name="plans"),
]
