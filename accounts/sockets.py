"""Who is behind a long-lived browser socket now, not when it opened."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def watching_user(scope: dict):
    """The socket's user read afresh from the database, or None once they may no longer watch:
    not logged in, logged out since the socket opened (its session is gone), deactivated or
    deleted. Database work: call it from a thread (``database_sync_to_async``)."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    session = scope.get("session")
    if session is not None and session.session_key and not session.exists(session.session_key):
        return None  # logged out since
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()
