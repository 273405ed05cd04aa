"""A service's refusal (Django's ValidationError) becomes a 400 with its message; a station
already running a step is a 409. Nothing a client sends becomes a 500."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from campaigns.services import StationBusy


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, StationBusy):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": " ".join(exc.messages)})
    return drf_exception_handler(exc, context)


def form_errors(form) -> exceptions.ValidationError:
    """A Django form's errors, field by field, as a 400."""
    return exceptions.ValidationError(
        {field: [str(e) for e in errors] for field, errors in form.errors.items()}
    )
