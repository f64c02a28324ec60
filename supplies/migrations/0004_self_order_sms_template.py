"""The SMS a resident ordering through the compound's link gets, created unapproved (an
operator approves it with the provider's code; seed_demo approves it with a demo code)."""

from django.db import migrations

TEMPLATES = {
    "居民下单验证码": "您正在{compound}线上订购物资，验证码{code}，10分钟内有效。如非本人操作请忽略。",
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("supplies", "0003_resident_ordering_links"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
