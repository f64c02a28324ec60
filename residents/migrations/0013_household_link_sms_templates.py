"""The SMS a household's own link and its code go out with, created unapproved (an operator
approves them with the provider's codes; seed_demo approves them with demo codes)."""

from django.db import migrations

TEMPLATES = {
    "家庭服务链接": "{compound}居委会：这是您家的专属服务链接 {site}/residents/h/{code}/ "
    "可订购物资、申请就医陪护、反映需求。请勿转发他人。",
    "家庭链接验证码": "您正在打开{compound}的家庭服务链接，验证码{code}，10分钟内有效。"
    "如非本人操作请忽略。",
}


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("messaging", "SmsTemplate")
    for name, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(name=name, defaults={"code": "", "body": body})


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0012_link_codes_and_household_links"),
        ("messaging", "0001_outbox_templates_optout_budget"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
