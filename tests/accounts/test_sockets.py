"""A long-lived socket's user is read afresh: logged out, deactivated or deleted users stop
watching (the home page's and the station live page's sockets both ask accounts.sockets)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from accounts.sockets import watching_user


def _session() -> SessionStore:
    session = SessionStore()
    session.create()
    return session


def test_a_signed_in_active_user_is_read_afresh(vendor_user):
    type(vendor_user).objects.filter(pk=vendor_user.pk).update(first_name="Renamed")
    user = watching_user({"user": vendor_user, "session": _session()})
    assert user is not None and user.first_name == "Renamed"


def test_nobody_once_logged_out_deactivated_deleted_or_never_signed_in(vendor_user, qa_user):
    gone = _session()
    gone.delete()
    assert watching_user({"user": vendor_user, "session": gone}) is None
    assert watching_user({"user": AnonymousUser()}) is None
    assert watching_user({}) is None
    type(vendor_user).objects.filter(pk=vendor_user.pk).update(is_active=False)
    assert watching_user({"user": vendor_user, "session": _session()}) is None
    type(qa_user).objects.filter(pk=qa_user.pk).delete()  # the instance keeps its pk
    assert watching_user({"user": qa_user}) is None
