"""Who sees and changes what in the catalogue: a vendor reads its own manufacturer's objects,
gets 404 for everyone else's and 403 for every write."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db

SLUGS = ["manufacturers", "models", "firmware", "stations"]


@pytest.fixture
def own_station(vendor_user):
    return StationFactory(charger_model__manufacturer=vendor_user.manufacturer)


@pytest.fixture
def other_station(db):
    return StationFactory(charge_point_id="OTHER-VENDOR-CP")


def _objects(station):
    firmware = station.expected_firmware
    return {
        "manufacturers": station.charger_model.manufacturer,
        "models": station.charger_model,
        "firmware": firmware,
        "stations": station,
    }


@pytest.mark.parametrize("slug", SLUGS)
def test_anonymous_users_are_sent_to_the_login_page(client, slug):
    response = client.get(reverse("stations:object_list", args=[slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("slug", SLUGS)
def test_vendor_lists_only_its_own_manufacturers_objects(
    vendor_client, own_station, other_station, slug
):
    response = vendor_client.get(reverse("stations:object_list", args=[slug]))
    assert response.status_code == 200
    listed = list(response.context["page"].object_list)
    assert listed == [_objects(own_station)[slug]]
    assert str(_objects(other_station)[slug]) not in response.content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_vendor_reads_its_own_objects(vendor_client, own_station, slug):
    obj = _objects(own_station)[slug]
    response = vendor_client.get(reverse("stations:object_detail", args=[slug, obj.pk]))
    assert response.status_code == 200
    assert "Edit" not in response.content.decode().split("<main>")[1].split("<dl")[0]


@pytest.mark.parametrize("slug", SLUGS)
def test_vendor_gets_404_for_another_manufacturers_object(vendor_client, other_station, slug):
    obj = _objects(other_station)[slug]
    response = vendor_client.get(reverse("stations:object_detail", args=[slug, obj.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_vendor_gets_403_for_every_write(vendor_client, own_station, other_station, slug, method):
    send = getattr(vendor_client, method)
    assert send(reverse("stations:object_create", args=[slug])).status_code == 403
    for station in (own_station, other_station):
        obj = _objects(station)[slug]
        assert send(reverse("stations:object_edit", args=[slug, obj.pk])).status_code == 403


def test_vendor_related_lists_hide_other_manufacturers(vendor_client, own_station, other_station):
    maker = own_station.charger_model.manufacturer
    response = vendor_client.get(
        reverse("stations:object_detail", args=["manufacturers", maker.pk])
    )
    assert own_station.charge_point_id in response.content.decode()
    assert other_station.charge_point_id not in response.content.decode()


def test_firmware_file_downloads_only_for_its_own_vendor(vendor_client, own_station, other_station):
    for station in (own_station, other_station):
        firmware = station.expected_firmware
        firmware.file.save("fw.bin", ContentFile(b"version: 1\n"), save=True)
    own = own_station.expected_firmware
    response = vendor_client.get(reverse("stations:firmware_download", args=[own.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"version: 1\n"
    other = other_station.expected_firmware
    assert (
        vendor_client.get(reverse("stations:firmware_download", args=[other.pk])).status_code == 404
    )


def test_firmware_without_a_file_is_404(qa_client):
    firmware = FirmwareVersionFactory()
    assert (
        qa_client.get(reverse("stations:firmware_download", args=[firmware.pk])).status_code == 404
    )


def test_vendor_cannot_enter_the_admin(vendor_client):
    response = vendor_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response.url


@pytest.mark.parametrize("slug", SLUGS)
def test_qa_sees_every_manufacturer(qa_client, own_station, other_station, slug):
    response = qa_client.get(reverse("stations:object_list", args=[slug]))
    assert set(response.context["page"].object_list) == {
        _objects(own_station)[slug],
        _objects(other_station)[slug],
    }
    for station in (own_station, other_station):
        obj = _objects(station)[slug]
        assert (
            qa_client.get(reverse("stations:object_edit", args=[slug, obj.pk])).status_code == 200
        )


def test_an_unknown_catalogue_page_is_404(qa_client):
    assert qa_client.get("/catalogue/nothing-here/").status_code == 404


def test_empty_list_says_what_to_do(qa_client):
    response = qa_client.get(reverse("stations:object_list", args=["stations"]))
    assert "No stations yet." in response.content.decode()
    assert "connects to CertLab by its id" in response.content.decode()


def test_superuser_admin_lists_and_edits_catalogue(client, own_station):
    from tests.factories import UserFactory

    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    for name in ("manufacturer", "chargermodel", "firmwareversion", "station"):
        assert client.get(reverse(f"admin:stations_{name}_changelist")).status_code == 200
    page = client.get(reverse("admin:stations_station_change", args=[own_station.pk]))
    assert page.status_code == 200
    assert "Basic-auth password" in page.content.decode()
