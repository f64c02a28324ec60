"""`{% resident_row r %}`: one resident in the register's list (residents/_resident_rows.html).

Written out in Python: the register's 50 rows spent two fifths of the page in the row's
template (name, gender and age, door, masked phone and ID, tags, marks, the call form: about
140 µs a row); here a tenth of that. Every value is escaped as Django's autoescape does
(html.escape with quotes). `r` comes from the list view (residents.views._with_marks: its
`links` and `marks`, its tags prefetched).
"""

from django import template
from django.utils.safestring import SafeString, mark_safe

from wuyi.lib.rows import csrf_input
from wuyi.lib.rows import e as _e

register = template.Library()


@register.simple_tag(takes_context=True)
def resident_row(context: template.Context, r) -> SafeString:
    links = r.links
    age = r.age_label
    out = [
        f'  <li class="row">\n    <a href="{_e(links["detail"])}">'
        f"<strong>{_e(r.name)}</strong></a>\n"
        f"    <span>{_e(r.gender_label)}{f' · {_e(age)}' if age else ''}</span>\n"
        f'    <a class="muted" href="{_e(links["household"])}">'
        f"{_e(r.compound.name)} {_e(r.household.address)}</a>\n    "
    ]
    if r.phone:
        out.append(f'<span class="mono">{_e(r.masked_phone)}</span>')
        if context.get("may_call"):
            csrf = csrf_input(context)
            out.append(
                f'<form class="call-form" method="post" action="{_e(links["call"])}">{csrf}'
                f'<button class="call" type="submit">{_e(context.get("call_label", ""))}</button>'
                "</form>"
            )
    out.append("\n    ")
    if r.id_last4:
        out.append(f'<span class="mono muted">{_e(r.masked_national_id)}</span>')
    out.append("\n    ")
    out.extend(f'<span class="tag">{_e(tag.category_label)}</span>' for tag in r.tags.all())
    out.append("\n    ")
    out.append(resident_marks(r.marks))
    out.append("\n  </li>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above escaped


@register.simple_tag
def resident_marks(marks) -> SafeString:
    """`{% resident_marks r.marks %}`: a resident's current marks (quarantine, temporary
    control...) as badges, in the register's rows and on the household page
    (residents/_marks.html)."""
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f'<span class="badge {"status-sealed" if m.kind == "control" else "status-controlled"}"'
            f' title="{_e(m.detail)}">{_e(m.label)}</span>'
            for m in marks
            if not m.ended
        )
    )
