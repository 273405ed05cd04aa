from django.core.management.base import BaseCommand

from stations.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo manufacturers, models, firmware, stations and users (idempotent)."

    def handle(self, *args, **options) -> None:
        created = seed_demo()
        for line in created:
            self.stdout.write(f"created {line}")
        if not created:
            self.stdout.write("demo data already present")
