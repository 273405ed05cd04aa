from django.urls import path

from transfers import views

app_name = "transfers"

urlpatterns = [
    # The location sent in UpdateFirmware.req: stations fetch firmware here without logging in.
    path("files/firmware/<str:token>/<str:filename>", views.firmware_file, name="firmware_file"),
    path("transfers/stations/<int:pk>/", views.station_transfers, name="station_transfers"),
    path(
        "transfers/diagnostics/<int:pk>/download/",
        views.diagnostics_download,
        name="diagnostics_download",
    ),
    path(
        "transfers/firmware/<int:pk>/downloads/",
        views.firmware_downloads,
        name="firmware_downloads",
    ),
]
