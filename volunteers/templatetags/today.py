"""`{% task_row t %}`: one row of 今日任务, as the today page lists it and as a done button's
POST answers it (volunteers/_task.html).

Written out in Python: a phone's list of 43 rounds, retests and deliveries spent 2.5 ms a page
in the row's template (about 60 µs a row, a tenth of the page under load), and as much through
format_html (its lazy-string checks on every argument); here about 8 µs a row. Every value is
escaped as Django's autoescape does (html.escape with quotes). The markup of a row has this
one home.
"""

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from volunteers.registry import Task
from wuyi.lib.rows import csrf_input
from wuyi.lib.rows import e as escape

register = template.Library()
CALL_FORM = 'class="call-form" '


def _form(action: str, attrs: str, csrf: str, button: str) -> str:
    return f'<form {attrs}method="post" action="{action}">{csrf}{button}</form>'


@register.simple_tag(takes_context=True)
def task_row(context: template.Context, task: Task) -> SafeString:
    csrf = csrf_input(context)
    title = f"<strong>{escape(str(task.title))}</strong>"
    if task.url:
        title = f'<a href="{escape(task.url)}">{title}</a>'
    out = [
        f'<li class="task{" done" if task.done else ""}" id="{escape(task.dom_id)}">\n'
        f'  <div class="task-main">\n    <span class="kind">{escape(str(task.kind))}</span>\n'
        f"    {title}\n"
    ]
    if task.at:
        out.append(f"    <span>{escape(task.at_label)}</span>\n")
    if task.detail:
        out.append(f'    <span class="muted">{escape(str(task.detail))}</span>\n')
    out.append("  </div>\n")
    if task.call_url and not task.done:
        button = f'<button class="call" type="submit">{escape(_("Call"))}</button>'
        out.append(f"  {_form(escape(task.call_url), CALL_FORM, csrf, button)}\n")
    if task.done:
        out.append(f'  <span class="tick" aria-label="{escape(_("Done"))}">✓</span>\n')
    elif task.done_url:
        url = escape(task.done_url)
        htmx = f'hx-post="{url}" hx-target="#{escape(task.dom_id)}" hx-swap="outerHTML" '
        button = f'<button class="tap primary">{escape(_("Done"))}</button>'
        out.append(f"  {_form(url, htmx, csrf, button)}\n")
    out.append("</li>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above escaped
