"""What the station catalogue tells the apps built on it, without knowing them (stations knows
nothing of campaigns): campaigns.audit listens and records the change in the campaigns' history.

``expected_firmware_changed`` is sent inside the transaction that saves the station, with
``station``, ``before`` and ``after`` (FirmwareVersion or None), ``user`` (None: CertLab) and
``via`` (how, for people: "in the catalogue", "from the last BootNotification")."""

from django.dispatch import Signal

expected_firmware_changed = Signal()
