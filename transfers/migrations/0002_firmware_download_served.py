"""FirmwareDownload.served: when CertLab began sending the file, apart from when the request
arrived (``started``). Every download recorded before was recorded as it was served."""

from django.db import migrations, models


def served_when_started(apps, schema_editor):
    downloads = apps.get_model("transfers", "FirmwareDownload")
    downloads.objects.filter(served__isnull=True).update(served=models.F("started"))


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="firmwaredownload",
            name="served",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sending began"),
        ),
        migrations.AlterField(
            model_name="firmwaredownload",
            name="started",
            field=models.DateTimeField(verbose_name="request received"),
        ),
        migrations.RunPython(served_when_started, migrations.RunPython.noop),
    ]
