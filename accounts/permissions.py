"""Role checks for views: a vendor asking for a write gets 403, never a silent redirect."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def qa_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_qa:
            raise PermissionDenied("Only QA staff can do this.")
        return view(request, *args, **kwargs)

    return wrapped
