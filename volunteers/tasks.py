from celery import shared_task

from . import services


@shared_task(name="volunteers.alert_unstaffed")
def alert_unstaffed() -> str:
    """Every quarter of an hour: coming shifts short of people, to the secretary's bell."""
    return f"alerted {services.shifts_alert_unstaffed()} unstaffed shifts"
