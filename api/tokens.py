"""Making, checking and revoking personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from api.models import ApiToken

PREFIX = "certlab_"
NAME_LENGTH = ApiToken._meta.get_field("name").max_length
LAST_USED_EVERY = timedelta(minutes=1)  # a busy script does not write on every request


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the record and the token, which is not stored."""
    name = name.strip()
    if not name:
        raise ValidationError("Name the token after the script that will use it.")
    if len(name) > NAME_LENGTH:
        raise ValidationError(f"A token's name is at most {NAME_LENGTH} characters.")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user, name=name, prefix=token[: len(PREFIX) + 6], digest=_digest(token)
    )
    return record, token


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=timezone.now())


def token_user(token: str) -> tuple[User, ApiToken] | None:
    """The active user a token belongs to, or None for an unknown, revoked or inactive one."""
    if not token.startswith(PREFIX):
        return None
    record = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(token), revoked__isnull=True, user__is_active=True)
        .first()
    )
    if record is None:
        return None
    now = timezone.now()
    if record.last_used is None or now - record.last_used > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=record.pk).update(last_used=now)
    return record.user, record


def tokens_of(*, user: User):
    return ApiToken.objects.filter(user=user)
