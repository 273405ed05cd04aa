"""The user's own page of personal API tokens: make one (shown once), see when each was last
used, revoke it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from api import tokens


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    new_token = None
    status = 200
    if request.method == "POST":
        try:
            _record, new_token = tokens.token_create(
                user=request.user, name=request.POST.get("name", "")
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            status = 400
    context = {"tokens": tokens.tokens_of(user=request.user), "new_token": new_token}
    response = render(request, "api/tokens.html", context, status=status)
    if new_token:
        response["Cache-Control"] = "no-store"  # the one time the token is shown
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(tokens.tokens_of(user=request.user), pk=pk)
    tokens.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked: scripts using it are refused now.")
    return redirect("api:tokens")
