from django.urls import path

from . import views

app_name = "medical"

urlpatterns = [
    path("", views.escorts, name="escorts"),
    path("escorts/new/", views.escort_book, name="book"),
    path("escorts/<int:pk>/", views.escort_detail, name="escort"),
    path("escorts/<int:pk>/assign/", views.escort_assign, name="assign"),
    path("escorts/<int:pk>/step/", views.escort_step, name="step"),
    path("escorts/<int:pk>/call/", views.escort_call, name="call"),
    path("escorts/<int:pk>/dispatch/", views.emergency_dispatch, name="dispatch"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/new/", views.schedule_add, name="schedule_add"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/status/", views.schedule_status, name="schedule_status"),
    path("emergency/", views.emergency, name="emergency"),
    path("board/", views.board, name="board"),
    path("coverage/", views.coverage, name="coverage"),
    path("statistics/", views.statistics, name="statistics"),
]
