from django.core.management import call_command
from django.core.management.base import BaseCommand

from stations.demo import seed_demo


class Command(BaseCommand):
    help = "Migrate and create the demo data: what the run command does before it starts."

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        for line in seed_demo():
            self.stdout.write(f"created {line}")
