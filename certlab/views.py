from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from certlab.health import check_health
from certlab.home import home_overview


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", home_overview(user=request.user))


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page (a PDF, say) names no icon of its own."""
    return redirect(static("img/favicon.svg"), permanent=True)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For health checks and the run command: 200 only when everything this process needs to
    serve answers (database, Redis, static files), else 503 naming what does not."""
    checks = check_health()
    healthy = all(outcome == "ok" for outcome in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
    )
