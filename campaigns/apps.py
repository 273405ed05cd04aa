from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns, attempts and reports"

    def ready(self) -> None:
        from campaigns import audit
        from stations.signals import expected_firmware_changed

        expected_firmware_changed.connect(audit.station_firmware_changed, dispatch_uid="audit")
