from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from certlab.health import check_health
from certlab.home import SECTIONS, home_overview, home_section


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", home_overview(user=request.user))


@login_required
@require_GET
def home_section_view(request: HttpRequest, section: str) -> HttpResponse:
    """One section of the home page rendered afresh through the user's own selectors: the live
    home page fetches it when told that the section changed (certlab.home_live)."""
    if section not in SECTIONS:
        raise Http404("No such section.")
    context = home_section(user=request.user, section=section)
    return render(request, f"home/_{section}.html", context)


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
