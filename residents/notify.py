"""What the register texts, through messaging's one sending function: a household's own link
and the code that opens it.

The texts are provider-approved templates, created unapproved by migration 0012; an operator
enters the provider's code and approves them (seed_demo approves them with demo codes).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from messaging.models import Allowance
from messaging.rules import VALUE_MAX, fit_value
from messaging.services import OneSms, notify_by_sms

HOUSEHOLD_LINK = "家庭服务链接"
HOUSEHOLD_CODE = "家庭链接验证码"
PURPOSE = "residents_household_link"
# The texts as migration 0012 creates them (seed_demo makes them again when a test database
# was flushed of what the migrations wrote).
TEXTS = {
    HOUSEHOLD_LINK: "{compound}居委会：这是您家的专属服务链接 {site}/residents/h/{code}/ "
    "可订购物资、申请就医陪护、反映需求。请勿转发他人。",
    HOUSEHOLD_CODE: "您正在打开{compound}的家庭服务链接，验证码{code}，10分钟内有效。"
    "如非本人操作请忽略。",
}


MSG_SITE_TOO_LONG = _(
    "The app's public address %(site)s is longer than the %(max)d characters an SMS value "
    "holds, so no link could reach the household: ask the administrator to set "
    "WUYI_PUBLIC_URL to a shorter address. Nothing was changed."
)


def site_fits(site: str) -> bool:
    """Whether the address a household link opens on (scheme and host) fits in one SMS value:
    the renewal refuses before voiding the old link, and a system check warns at start-up."""
    return len(site.rstrip("/")) <= VALUE_MAX


def household_link(*, phones: list[str], site: str, token: str, compound: Any, key: str) -> int:
    """The household's link to each of its numbers, one message each (the key names the link
    and the number's place in the list, so a retried renewal never texts twice). `site` is
    the scheme and host the link opens on (a provider takes 35 characters a value: the path
    is in the approved text, the token is a value of its own). Returns how many were
    queued."""
    return notify_by_sms(
        to=[
            OneSms(
                to=phone,
                variables={"compound": fit_value(compound.name), "site": site, "code": token},
                idempotency_key=f"{key}:{n}",
            )
            for n, phone in enumerate(phones)
        ],
        template=HOUSEHOLD_LINK,
        purpose=PURPOSE,
        place=compound,
    )


def household_code(*, phone: str, code: str, compound: Any, key: str) -> None:
    """The code whoever opened the household's link types in (urgent: they are waiting for
    it; asked for by whoever holds the link: the public allowance, never the budget)."""
    notify_by_sms(
        to=phone,
        template=HOUSEHOLD_CODE,
        variables={"compound": fit_value(compound.name), "code": code},
        purpose=PURPOSE,
        idempotency_key=key,
        urgent=True,
        place=compound,
        allowance=Allowance.PUBLIC,
    )
