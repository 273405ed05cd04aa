"""Users with one of two roles: QA staff see and do everything; a vendor reads its own
manufacturer's objects and nothing else."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    QA = "qa", "QA staff"
    VENDOR = "vendor", "Vendor"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.QA)
    manufacturer = models.ForeignKey(
        "stations.Manufacturer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vendor_users",
        help_text="The manufacturer a vendor user belongs to; empty for QA staff.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="vendor_has_manufacturer",
                condition=~models.Q(role="vendor") | models.Q(manufacturer__isnull=False),
            ),
            models.CheckConstraint(
                name="qa_has_no_manufacturer",
                condition=~models.Q(role="qa") | models.Q(manufacturer__isnull=True),
            ),
        ]

    @property
    def is_qa(self) -> bool:
        return self.is_active and (self.role == Role.QA or self.is_superuser)

    @property
    def is_vendor(self) -> bool:
        return self.role == Role.VENDOR and not self.is_superuser
