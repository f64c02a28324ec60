from django.urls import path

from . import offline, views

app_name = "volunteers"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("assignments/<int:pk>/check-in/", views.check_in, name="check_in"),
    path("assignments/<int:pk>/check-out/", views.check_out, name="check_out"),
    path("link/<str:token>/", views.login_link, name="link"),
    path("password/", views.first_password, name="password"),
    path("", views.volunteer_list, name="list"),
    path("add/", views.volunteer_add, name="add"),
    path("import/", views.volunteer_import, name="import"),
    path("<int:pk>/link/", views.volunteer_link, name="new_link"),
    path("teams/", views.team_list, name="teams"),
    path("teams/add/", views.team_edit, name="team_add"),
    path("teams/<int:pk>/", views.team_detail, name="team"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/remove/<int:volunteer_pk>/", views.team_remove, name="team_remove"),
    path("branches/", views.branch_list, name="branches"),
    path("branches/add/", views.branch_edit, name="branch_add"),
    path("branches/<int:pk>/", views.branch_edit, name="branch_edit"),
    path("plan/<int:compound_pk>/", views.plan, name="plan"),
    path("plan/<int:compound_pk>/templates/", views.template_add, name="template_add"),
    path("plan/<int:compound_pk>/apply/", views.plan_apply, name="plan_apply"),
    path("shifts/<int:pk>/", views.shift_detail, name="shift"),
    path("duty/", views.duty, name="duty"),
    path("duty/hours.xlsx", views.hours_export, name="hours_export"),
]
