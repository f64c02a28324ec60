"""The SMS that carries a volunteer's one-time login link, created unapproved: Chinese providers
send only texts they approved, so an operator enters the provider's template code and approves
it in the admin (seed_demo approves it with a demo code)."""

from django.db import migrations

NAME = "志愿者登录链接"
BODY = "您已登记为{community}志愿者。请用手机打开 {site}/volunteers/link/{code}/ 登录，3天内有效，仅能使用一次。"


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    SmsTemplate.objects.get_or_create(name=NAME, defaults={"code": "", "body": BODY})


class Migration(migrations.Migration):
    dependencies = [
        ("volunteers", "0001_volunteers_teams_shifts"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
