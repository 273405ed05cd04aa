"""Who may do what through the API: the pages' rules (accounts.permissions), as a DRF class."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class QaWritesVendorsRead(BasePermission):
    """Signed-in users read what their selectors show them; only QA staff change anything
    (the vendor's own two writes, a firmware upload and acknowledging a report, are actions that
    override this permission).

    A vendor's write is refused before any object is looked up (403, as on the pages), so the
    answer says nothing about whether the object exists."""

    message = "Only QA staff can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return request.method in SAFE_METHODS or user.is_qa
