"""The station's basic-auth check off the database thread: a verified password is remembered
for the process, only for the stored hash it was verified against."""

from __future__ import annotations

from stations.answers import password_ok
from stations.models import Station


def _station(password: str) -> Station:
    station = Station(charge_point_id="ANSWERS-1")
    station.set_password(password)
    return station


async def test_a_verified_password_is_not_hashed_again():
    station = _station("0123456789abcdefABCD")
    assert await password_ok(station, "0123456789abcdefABCD")

    def hashing(raw: str) -> bool:
        raise AssertionError("PBKDF2 again for a credential already verified")

    station.check_password = hashing
    assert await password_ok(station, "0123456789abcdefABCD")


async def test_a_wrong_password_is_refused_each_time():
    station = _station("0123456789abcdefABCD")
    assert not await password_ok(station, "wrong-password-000000")
    assert not await password_ok(station, "wrong-password-000000")


async def test_a_changed_password_refuses_the_old_one_at_once():
    station = _station("0123456789abcdefABCD")
    assert await password_ok(station, "0123456789abcdefABCD")
    station.set_password("another-password-12345")
    assert not await password_ok(station, "0123456789abcdefABCD")
    assert await password_ok(station, "another-password-12345")


async def test_a_station_without_password_accepts_none():
    assert not await password_ok(Station(charge_point_id="ANSWERS-2"), "")
