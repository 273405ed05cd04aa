"""``manage.py verify_campaign N``: recompute a campaign's tamper-evident record from the
database (campaigns.sealing) and name each frame, check or verdict that changed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Campaign
from campaigns.sealing import campaign_verify


class Command(BaseCommand):
    help = (
        "Recompute a campaign's hash chains and evidence digest from the database. Exit code 0 "
        "and 'verified' when the record holds; 1 and each changed frame, check or verdict named "
        "otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help="the campaign's id")

    def handle(self, *args, campaign: int, **options) -> None:
        found = Campaign.objects.filter(pk=campaign).first()
        if found is None:
            raise CommandError(f"No campaign {campaign}.")
        changed = campaign_verify(found)
        if not changed:
            self.stdout.write(f"campaign {campaign}: verified (digest {found.evidence_digest})")
            return
        for line in changed:
            self.stdout.write(line)
        self.stderr.write(f"campaign {campaign}: {len(changed)} change(s) since it was sealed")
        raise SystemExit(1)
