from django.urls import path

from stations import frame_export, live_views, views  # noqa: F401  (frame_export: <frames:…>)

app_name = "stations"

urlpatterns = [
    path("", views.catalogue_home, name="catalogue_home"),
    # The Central System's pages (before the catalogue's <slug> patterns).
    path("live/", live_views.station_list, name="live_list"),
    path("live/<int:pk>/", live_views.station_live, name="live"),
    path("live/<int:pk>/frames/", live_views.frame_history, name="frame_history"),
    path("live/<int:pk>/frames.<frames:fmt>", live_views.frame_export, name="frame_export"),
    path("live/<int:pk>/console/", live_views.console_send, name="console_send"),
    path(
        "live/<int:pk>/console/<int:command_pk>/",
        live_views.command_detail,
        name="command_detail",
    ),
    path("live/<int:pk>/boot/", live_views.boot_settings, name="boot_settings"),
    path("pending/<int:pending_pk>/", live_views.pending_detail, name="pending_detail"),
    path("pending/<int:pending_pk>/adopt/", live_views.pending_adopt, name="pending_adopt"),
    path("pending/<int:pending_pk>/delete/", live_views.pending_delete, name="pending_delete"),
    path("firmware/<int:pk>/download/", views.firmware_download, name="firmware_download"),
    path("firmware/upload/", views.firmware_upload, name="firmware_upload"),
    path(
        "stations/<int:pk>/fill-from-boot/",
        views.station_fill_from_boot,
        name="station_fill_from_boot",
    ),
    path("<slug:slug>/", views.object_list, name="object_list"),
    path("<slug:slug>/new/", views.object_create, name="object_create"),
    path("<slug:slug>/<int:pk>/", views.object_detail, name="object_detail"),
    path("<slug:slug>/<int:pk>/edit/", views.object_edit, name="object_edit"),
]
