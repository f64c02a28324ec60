"""The text a new case sends, created unapproved: an operator enters the provider's template
code and approves it in the admin (seed_demo approves it with a demo code)."""

from django.db import migrations

TEMPLATES = {"新增阳性病例通知": "{compound}{date}新增阳性病例，小区已转为封控区，请立即处置。"}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0001_testing_rounds_tubes_cases"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
