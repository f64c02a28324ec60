"""The test-day reminder's text, created unapproved: an operator enters the provider's template
code and approves it in the admin (seed_demo approves it with a demo code)."""

from django.db import migrations

TEMPLATES = {
    "隔离核酸检测提醒": "{name}您好，今天（{date}）是您隔离期间的核酸检测日，请在家等候上门采样。"
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0004_sampling_points_and_slots"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
