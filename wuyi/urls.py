from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from campaign.api import (
    AssessmentViewSet,
    CertificateViewSet,
    ChecklistViewSet,
    PublicityViewSet,
)
from care.api import NeedViewSet, WelfareCheckViewSet
from compounds.api import BuildingViewSet, CompoundViewSet
from dashboards.api import OverviewView
from dashboards.health import healthz, metrics
from dashboards.views import home
from medical.api import AmbulanceViewSet, EscortViewSet, HospitalViewSet, ScheduleViewSet
from messaging.api import CampaignViewSet, SmsTemplateViewSet
from residents.api import HouseholdViewSet, ResidentViewSet
from sanitation.api import AreaViewSet, RoundViewSet, WasteRecordViewSet
from screening.api import (
    CaseViewSet,
    ContactViewSet,
    HealthReportViewSet,
    ResultImportViewSet,
    SamplingSlotViewSet,
    TestingRoundViewSet,
    TubeViewSet,
)
from supplies.api import CatalogueViewSet, GroupBuyViewSet, OrderViewSet
from volunteers.api import (
    AssignmentViewSet,
    ShiftViewSet,
    TeamViewSet,
    TodayView,
    VolunteerViewSet,
)
from wuyi.lib.drf import api_not_found

admin.site.site_header = _("Wuyi administration")
admin.site.site_title = _("Wuyi")

router = DefaultRouter()
router.register("compounds", CompoundViewSet, basename="compound")
router.register("buildings", BuildingViewSet, basename="building")
router.register("households", HouseholdViewSet, basename="household")
router.register("residents", ResidentViewSet, basename="resident")
router.register("teams", TeamViewSet, basename="team")
router.register("volunteers", VolunteerViewSet, basename="volunteer")
router.register("shifts", ShiftViewSet, basename="shift")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("sanitation/areas", AreaViewSet, basename="area")
router.register("sanitation/rounds", RoundViewSet, basename="round")
router.register("sanitation/waste", WasteRecordViewSet, basename="wasterecord")
router.register("medical/hospitals", HospitalViewSet, basename="hospital")
router.register("medical/ambulances", AmbulanceViewSet, basename="ambulance")
router.register("medical/escorts", EscortViewSet, basename="escort")
router.register("medical/schedules", ScheduleViewSet, basename="schedule")
router.register("supplies/catalogue", CatalogueViewSet, basename="catalogueitem")
router.register("supplies/group-buys", GroupBuyViewSet, basename="groupbuy")
router.register("supplies/orders", OrderViewSet, basename="order")
router.register("sms-templates", SmsTemplateViewSet, basename="smstemplate")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("care/checks", WelfareCheckViewSet, basename="welfarecheck")
router.register("care/needs", NeedViewSet, basename="need")
router.register("screening/rounds", TestingRoundViewSet, basename="testinground")
router.register("screening/tubes", TubeViewSet, basename="tube")
router.register("screening/slots", SamplingSlotViewSet, basename="samplingslot")
router.register("screening/results", ResultImportViewSet, basename="resultimport")
router.register("screening/cases", CaseViewSet, basename="case")
router.register("screening/contacts", ContactViewSet, basename="contact")
router.register("screening/health-reports", HealthReportViewSet, basename="healthreport")


router.register("campaign/checklists", ChecklistViewSet, basename="checklist")
router.register("campaign/assessments", AssessmentViewSet, basename="assessment")
router.register("campaign/certificates", CertificateViewSet, basename="certificate")
router.register("campaign/publicity", PublicityViewSet, basename="publicityrecord")


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on every page the site's own <link rel=icon> is not on
    (the admin, the API docs): the vendored icon, not a 404."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("alerts/", include("accounts.urls")),
    path("compounds/", include("compounds.urls")),
    path("residents/", include("residents.urls")),
    path("volunteers/", include("volunteers.urls")),
    path("sanitation/", include("sanitation.urls")),
    path("medical/", include("medical.urls")),
    path("supplies/", include("supplies.urls")),
    path("screening/", include("screening.urls")),
    path("care/", include("care.urls")),
    path("campaign/", include("campaign.urls")),
    path("messaging/", include("messaging.urls")),
    path("overview/", include("dashboards.urls")),
    path("api/", include(router.urls)),
    path("api/today/", TodayView.as_view(), name="today"),
    path("api/overview/", OverviewView.as_view(), name="overview-api"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # Anything else under /api/ answers in JSON, as the API does.
    re_path(r"^api/", api_not_found, name="api-not-found"),
    path("admin/", admin.site.urls),
]
