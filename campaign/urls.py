from django.urls import path

from . import views

app_name = "campaign"

urlpatterns = [
    path("", views.progress, name="progress"),
    path("checklist/", views.checklist, name="checklist"),
    path("checklist/items/<int:pk>/", views.item_edit, name="item_edit"),
    path("compounds/<int:pk>/", views.compound, name="compound"),
    path("compounds/<int:pk>/items/<int:item_pk>/", views.check, name="check"),
    path("compounds/<int:pk>/certify/", views.certify, name="certify"),
    path("certificates/<int:pk>/", views.certificate, name="certificate"),
    path("certificates/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("checks/<int:pk>/photo/", views.check_photo, name="check_photo"),
    path("publicity/", views.publicity, name="publicity"),
    path("texts/", views.texts, name="texts"),
    path("texts/<str:kind>/print/", views.text_print, name="text_print"),
    path("texts/<str:kind>/send/", views.text_send, name="text_send"),
    path("v/<str:token>/", views.verify, name="verify"),
]
