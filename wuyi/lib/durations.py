"""A span of time as people say it: "2天3小时", not "3060分钟"."""

from django.utils.translation import gettext as _


def minutes_text(minutes: float | None) -> str:
    """Days and hours above a day, hours and minutes above an hour, else minutes; rounded to
    the minute. None (nothing measured) is "—"."""
    if minutes is None:
        return "—"
    total = max(0, round(minutes))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        if hours:
            return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
        return _("%(days)d d") % {"days": days}
    if hours:
        if mins:
            return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": mins}
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": mins}
