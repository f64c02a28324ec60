"""The baseline of bench/sms_fanout.py: one Celery task per SMS, as a naive outbox would do it.
Loaded into the bench's worker with ``celery worker -I sms_naive`` (bench/ on PYTHONPATH)."""

from celery import shared_task


@shared_task(name="bench.sms_naive")
def send_one(recipient_id: int) -> None:
    from django.utils import timezone

    from messaging.backends import Outgoing, get_backend
    from messaging.models import Recipient

    recipient = Recipient.objects.select_related("message__template").get(pk=recipient_id)
    if recipient.status != "queued":
        return
    template = recipient.message.template
    values = {**recipient.message.variables, **(recipient.variables or {})}
    outgoing = Outgoing(
        key=str(recipient.pk),
        phone=recipient.phone,
        template_code=template.code,
        params={name: values.get(name, "") for name in template.variables},
        text=template.render(values),
    )
    (result,) = get_backend().send([outgoing])
    Recipient.objects.filter(pk=recipient.pk).update(
        status="sent" if result.ok else "failed",
        provider_id=result.provider_id,
        sent_at=timezone.now(),
        attempts=1,
    )
