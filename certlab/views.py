from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from campaigns.selectors import campaigns_for
from stations import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    campaigns = campaigns_for(user=request.user)
    counts = {
        **selectors.catalogue_counts(user=request.user),
        "campaigns": campaigns.count(),
        "running": campaigns.filter(status="running").count(),
    }
    return render(request, "home.html", {"counts": counts})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page (a PDF, say) names no icon of its own."""
    return redirect(static("img/favicon.svg"), permanent=True)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the container HEALTHCHECK and the run command: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
