from django.contrib import admin

from transfers.models import DiagnosticsFile, FirmwareDownload, FtpAccount


@admin.register(FtpAccount)
class FtpAccountAdmin(admin.ModelAdmin):
    list_display = ["username", "station", "is_active", "created"]
    search_fields = ["username", "station__charge_point_id"]
    raw_id_fields = ["station"]


@admin.register(DiagnosticsFile)
class DiagnosticsFileAdmin(admin.ModelAdmin):
    list_display = ["file_name", "station", "size", "complete", "started", "received"]
    list_filter = ["complete"]
    search_fields = ["file_name", "station__charge_point_id", "sha256"]
    readonly_fields = [f.name for f in DiagnosticsFile._meta.fields]


@admin.register(FirmwareDownload)
class FirmwareDownloadAdmin(admin.ModelAdmin):
    list_display = ["firmware", "station", "protocol", "bytes_sent", "complete", "started"]
    list_filter = ["protocol", "complete"]
    search_fields = ["station__charge_point_id", "file_name"]
    readonly_fields = [f.name for f in FirmwareDownload._meta.fields]
