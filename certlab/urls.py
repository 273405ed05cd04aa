from django.contrib import admin
from django.urls import include, path

from certlab import views

urlpatterns = [
    path("", views.home, name="home"),
    path("home/<slug:section>/", views.home_section_view, name="home_section"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico where a page (a PDF, say) names no icon of its own.
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("catalogue/", include("stations.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("api/", include("api.urls")),
    path("", include("transfers.urls")),
    path("admin/", admin.site.urls),
]
