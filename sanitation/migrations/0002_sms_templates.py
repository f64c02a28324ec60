"""The two SMS texts a missed round sends, created unapproved: Chinese providers send only
texts they approved, so an operator enters the provider's template code and approves each in
the admin (seed_demo approves them with demo codes)."""

from django.db import migrations

TEMPLATES = {
    "消杀逾期提醒": "{area}（{compound}）{time}的消杀还未完成，请尽快处理并在现场扫码打卡。",
    "消杀逾期汇总": "{compound}有{count}个消杀轮次逾期未完成（{areas}），请安排补做。",
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("sanitation", "0001_sanitation_areas_rounds_waste"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
