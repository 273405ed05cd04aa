"""``Authorization: Bearer <personal token>`` for scripts (the browser uses its session)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from api.tokens import token_user


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Bearer <token>'.")
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        found = token_user(token)
        if found is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        return found

    def authenticate_header(self, request) -> str:
        return self.keyword
