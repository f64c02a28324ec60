"""The SMS that tells a compound's residents of the residents' code or the appeal letter,
created unapproved: an operator enters the provider's template code and approves it in the
admin (seed_demo approves it with a demo code). A campaign template (a secretary sends it), not
one of the app's own notifications."""

from django.db import migrations

NAME = "居民守则与倡议书"
BODY = "{compound}居民朋友：社区发布了《{title}》，纸质版已张贴在各单元门口，请认真阅读、自觉遵守。"


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    SmsTemplate.objects.get_or_create(name=NAME, defaults={"code": "", "body": BODY})


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0002_checklist_rounds_coverage_and_measured_kinds"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
