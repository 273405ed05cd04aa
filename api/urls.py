"""/api/v1/: the JSON API, its OpenAPI schema and interactive page; /api/tokens/: a user's
personal API tokens. Every object is addressed by its id in the path."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import pages
from api.views import campaigns, catalogue

app_name = "api"

router = SimpleRouter()
router.register("manufacturers", catalogue.ManufacturerViewSet, basename="manufacturer")
router.register("models", catalogue.ChargerModelViewSet, basename="chargermodel")
router.register("firmware", catalogue.FirmwareVersionViewSet, basename="firmware")
router.register("stations", catalogue.StationViewSet, basename="station")
router.register("diagnostics", catalogue.DiagnosticsFileViewSet, basename="diagnostics")
router.register("catalogue", campaigns.CatalogueViewSet, basename="catalogue")
router.register("campaigns", campaigns.CampaignViewSet, basename="campaign")
router.register("attempts", campaigns.AttemptViewSet, basename="attempt")
router.register("prompts", campaigns.PromptViewSet, basename="prompt")

v1 = [
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("tokens/", pages.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
]
