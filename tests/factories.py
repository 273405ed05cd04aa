"""factory-boy factories for the whole suite."""

from decimal import Decimal

import factory

from accounts.models import Role, User
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station


class ManufacturerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manufacturer

    name = factory.Sequence(lambda n: f"Maker {n}")
    number = factory.Sequence(lambda n: f"11041906{n:05d}")


class ChargerModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargerModel

    manufacturer = factory.SubFactory(ManufacturerFactory)
    name = factory.Sequence(lambda n: f"HK-{n}-AE2")
    connector_count = 2
    current_type = "DC"
    max_power_kw = Decimal("180.0")


class FirmwareVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FirmwareVersion

    charger_model = factory.SubFactory(ChargerModelFactory)
    version = factory.Sequence(lambda n: f"V1.{n}.0")


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    charge_point_id = factory.Sequence(lambda n: f"CP-{n:04d}")
    charger_model = factory.SubFactory(ChargerModelFactory)
    expected_firmware = factory.LazyAttribute(
        lambda o: FirmwareVersionFactory(charger_model=o.charger_model)
    )
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    iccid = "8931440400000000001"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@lab.example")
    role = Role.QA
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class VendorFactory(UserFactory):
    role = Role.VENDOR
    manufacturer = factory.SubFactory(ManufacturerFactory)
