import pytest
from django.core.exceptions import ValidationError

from tests.factories import ChargerModelFactory, FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("bad_id", ["has space", "slash/id", "ü-umlaut", "x" * 49, "..", "a?b"])
def test_station_id_must_be_url_path_safe_and_short(bad_id):
    station = StationFactory.build(charge_point_id=bad_id, charger_model=ChargerModelFactory())
    station.expected_firmware = None
    with pytest.raises(ValidationError) as error:
        station.full_clean()
    assert "charge_point_id" in error.value.message_dict


def test_station_id_accepts_unreserved_characters():
    station = StationFactory(charge_point_id="HK-180_1000.AE2~01")
    station.full_clean()


def test_expected_firmware_must_belong_to_the_station_model():
    station = StationFactory()
    station.expected_firmware = FirmwareVersionFactory()  # another model's firmware
    with pytest.raises(ValidationError) as error:
        station.full_clean()
    assert "expected_firmware" in error.value.message_dict


def test_station_password_is_stored_hashed_and_checked():
    station = StationFactory()
    station.set_password("0123456789abcdef0123")
    station.save()
    assert "0123456789abcdef0123" not in station.password_hash
    assert station.check_password("0123456789abcdef0123")
    assert not station.check_password("wrong-password-000000")
    station.set_password(None)
    assert not station.has_password
    assert not station.check_password("")


@pytest.mark.parametrize(
    "iccid,ok",
    [
        ("8931440400000000001", True),
        ("89314404000000000012", True),
        ("12345", False),
        ("8931440400000000001X", False),
    ],
)
def test_iccid_format(iccid, ok):
    station = StationFactory(iccid=iccid)
    if ok:
        station.full_clean()
    else:
        with pytest.raises(ValidationError):
            station.full_clean()
