"""Django admin for the catalogue (and, below, the Central System's records)."""

from django.contrib import admin

from stations.forms import StationForm
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin):
    list_display = ("name", "number", "created")
    search_fields = ("name", "number")


@admin.register(ChargerModel)
class ChargerModelAdmin(admin.ModelAdmin):
    list_display = ("name", "manufacturer", "connector_count", "current_type", "max_power_kw")
    list_filter = ("manufacturer", "current_type")
    search_fields = ("name", "manufacturer__name")


@admin.register(FirmwareVersion)
class FirmwareVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "charger_model", "file", "created")
    list_filter = ("charger_model__manufacturer",)
    search_fields = ("version", "charger_model__name")


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    form = StationForm  # the password field hashes; the admin never shows or stores it plain
    list_display = ("charge_point_id", "charger_model", "expected_firmware", "serial_number")
    list_filter = ("charger_model__manufacturer",)
    search_fields = ("charge_point_id", "serial_number", "iccid")
