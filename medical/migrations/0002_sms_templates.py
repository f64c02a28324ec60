"""The two SMS texts an escort sends, created unapproved: Chinese providers send only texts
they approved, so an operator enters the provider's template code and approves each in the
admin (seed_demo approves them with demo codes)."""

from django.db import migrations

TEMPLATES = {
    "转运接送通知": "{name}您好：您的转运定于{time}在{pickup}接您前往{hospital}，请提前做好准备。",
    "转运任务通知": "转运任务：{time}到{place}接{name}（{kind}）送往{hospital}，请准时到达。",
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("medical", "0001_hospitals_ambulances_escorts_schedules"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
