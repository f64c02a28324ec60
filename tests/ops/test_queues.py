"""Queues by kind: an import or a roster never waits in front of an SMS."""

from django.conf import settings

from wuyi.celery import app


def queue_of(task: str, **options) -> str:
    return app.amqp.router.route(options, task)["queue"].name


def test_tasks_go_to_the_queue_of_their_kind():
    app.loader.import_default_modules()
    assert queue_of("messaging.dispatch") == "sms"
    assert queue_of("messaging.send_batch") == "sms"
    # messaging.services passes queue=None unless WUYI_SMS_QUEUE names one: the route stands.
    assert queue_of("messaging.send_batch", queue=None) == "sms"
    assert queue_of("messaging.send_batch", queue="sms-bench") == "sms-bench"
    assert queue_of("residents.deliver_link_code") == "sms"
    assert queue_of("residents.import_check") == "imports"
    assert queue_of("residents.import_commit") == "imports"
    assert queue_of("sanitation.generate_rosters") == "rosters"
    assert queue_of("medical.book_escorts") == "rosters"
    # Recovery of a dead import must not wait behind the imports themselves.
    assert queue_of("residents.expire_import_jobs") == "default"
    assert queue_of("accounts.purge_access_logs") == "default"


def test_every_task_lands_in_a_queue_some_worker_consumes():
    """deploy/ starts a worker for each of WUYI_QUEUES; a worker without -Q takes all of them."""
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert ours
    for name in ours:
        assert queue_of(name) in settings.WUYI_QUEUES, name
    assert set(settings.CELERY_TASK_QUEUES) == set(settings.WUYI_QUEUES)
    assert set(settings.WUYI_QUEUES) <= set(app.amqp.queues)
