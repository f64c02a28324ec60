"""The handover code's SMS text, created unapproved: Chinese providers send only texts they
approved, so an operator enters the provider's template code and approves it in the admin
(seed_demo approves it with a demo code)."""

from django.db import migrations

TEMPLATES = {
    "配送交接码": "您的物资（订单{order}）正在配送，交接码{code}，请在志愿者送达时告知。",
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("supplies", "0001_supplies_orders_delivery"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
