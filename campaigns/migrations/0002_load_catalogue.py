from django.db import migrations


def load(apps, schema_editor):
    from campaigns.catalogue import sync_catalogue

    sync_catalogue(
        apps.get_model("campaigns", "CatalogueVersion"),
        apps.get_model("campaigns", "TestFunction"),
        apps.get_model("campaigns", "Criterion"),
    )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
