"""Celery tasks of the Central System: thin, they take ids and call a service."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from celery import shared_task

from stations import services


@shared_task(name="stations.send_command")
def send_command(command_id: int) -> str:
    """Send a console Command to its station; one async_to_sync per task (rule 8)."""
    command = async_to_sync(services.command_execute)(command_id=command_id)
    return command.status
