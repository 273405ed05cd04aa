"""Every catalogue query a user can reach goes through here.

QA staff see everything; a vendor sees its own manufacturer's objects; anybody else nothing.
Views fetch single objects with ``get_visible_or_404`` so another manufacturer's object is a 404,
indistinguishable from one that does not exist.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station


def _scope(queryset: QuerySet, *, user: User, manufacturer_path: str) -> QuerySet:
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_qa:
        return queryset
    if user.is_vendor and user.manufacturer_id:
        return queryset.filter(**{manufacturer_path: user.manufacturer_id})
    return queryset.none()


def manufacturers_for(*, user: User) -> QuerySet[Manufacturer]:
    return _scope(Manufacturer.objects.all(), user=user, manufacturer_path="pk")


def charger_models_for(*, user: User) -> QuerySet[ChargerModel]:
    return _scope(
        ChargerModel.objects.select_related("manufacturer"),
        user=user,
        manufacturer_path="manufacturer_id",
    )


def firmware_versions_for(*, user: User) -> QuerySet[FirmwareVersion]:
    return _scope(
        FirmwareVersion.objects.select_related("charger_model__manufacturer"),
        user=user,
        manufacturer_path="charger_model__manufacturer_id",
    )


def stations_for(*, user: User) -> QuerySet[Station]:
    return _scope(
        Station.objects.select_related("charger_model__manufacturer", "expected_firmware"),
        user=user,
        manufacturer_path="charger_model__manufacturer_id",
    )


def get_visible_or_404(queryset: QuerySet, pk: int) -> Model:
    return get_object_or_404(queryset, pk=pk)


def catalogue_counts(*, user: User) -> dict[str, int]:
    return {
        "manufacturers": manufacturers_for(user=user).count(),
        "models": charger_models_for(user=user).count(),
        "firmware": firmware_versions_for(user=user).count(),
        "stations": stations_for(user=user).count(),
    }
