"""What secretaries and volunteers hit on the volunteer pages (issue 19): an empty shift that
can be staffed from 排班表, the week on a phone, 今日任务 ordered by what someone waits for,
an administrator adding volunteers, the hours file's name."""

# The fixtures come from the app's main test module: pytest sees them as arguments.
# ruff: noqa: F811

import dataclasses
import datetime
import re
from urllib.parse import unquote

from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from tests.factories import UserFactory
from tests.volunteers.test_volunteers import at, liu, team  # noqa: F401 - fixtures
from volunteers import registry, services
from volunteers.models import Shift, Volunteer


def test_an_empty_shift_on_the_plan_is_a_link_with_words(login, secretary_a, compound_a):
    today = timezone.localdate()
    template = services.shift_template_save(
        by=secretary_a,
        compound=compound_a,
        name="门岗",
        starts=datetime.time(8),
        ends=datetime.time(12),
        needed=4,
    )
    services.shifts_apply(by=secretary_a, templates=[template], first=today, last=today)
    shift = Shift.objects.get(template=template, date=today)
    page = login(secretary_a).get(reverse("volunteers:plan", args=[compound_a.pk]))
    body = page.content.decode()
    href = reverse("volunteers:shift", args=[shift.pk])
    links = re.findall(rf'<a class="shift-link" href="{href}">(.*?)</a>', body, re.S)
    assert links and all(text.strip() == "安排人员" for text in links)
    assert "缺4人" in body
    # The phone layout lists all seven days, one under the other.
    days = re.findall(r'<section class="card plan-day"><h2>(\d\d-\d\d)', body)
    assert len(days) == 7


def test_today_puts_deliveries_first_and_folds_routine_rounds(login, liu):
    def provider(user, day):
        rounds = [
            registry.Task(key=f"round:{n}", kind="消杀", title=f"{n}号楼电梯", done_url="/x/")
            for n in range(26)
        ]
        delivery = registry.Task(key="delivery:1", kind="配送", title="1号楼", url="/d/", rank=10)
        return [*rounds, delivery]

    registry.register_task_provider(provider)
    try:
        body = login(liu.user).get(reverse("volunteers:today")).content.decode()
    finally:
        registry._providers.remove(provider)
    assert body.index("1号楼") < body.index("我的班次") < body.index("0号楼电梯")
    shown, folded = body.split('<details class="folded">')
    assert shown.count('class="kind">消杀') == 3
    assert folded.count('class="kind">消杀') == 23 and "还有23项" in folded


def test_an_administrator_adds_a_volunteer_after_choosing_the_community(
    login, community_a, compound_a
):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = login(admin)
    choose = client.get(reverse("volunteers:add"))
    assert choose.status_code == 200
    url = reverse("volunteers:add") + f"?community={community_a.pk}"
    assert url in choose.content.decode()
    form = client.get(url)
    assert form.status_code == 200 and f'action="{url}"' in form.content.decode()
    created = client.post(url, {"name": "王芳", "phone": "13893100077"})
    assert created.status_code == 200
    assert Volunteer.objects.get(name="王芳").community == community_a


def test_a_secretary_still_adds_without_choosing(login, secretary_a, community_a):
    response = login(secretary_a).get(reverse("volunteers:add"))
    assert response.status_code == 200 and 'name="name"' in response.content.decode()
    volunteer = UserFactory(role=Role.VOLUNTEER, posted_to=community_a)
    assert login(volunteer).get(reverse("volunteers:add")).status_code == 403


def test_the_hours_file_is_named_in_chinese(login, secretary_a):
    response = login(secretary_a).get(reverse("volunteers:hours_export"))
    header = response["Content-Disposition"]
    assert 'filename="volunteer-hours-' in header
    name = unquote(re.search(r"filename\*=UTF-8''(\S+)", header)[1])
    assert name.startswith("志愿者服务时长-") and name.endswith(".xlsx")


def test_a_task_shows_its_time_and_element_id_as_the_phone_reads_them(login, liu):
    """Past 16:00 UTC it is the next day in Asia/Shanghai: a task at 16:05 UTC is at 00:05;
    the row's id is the key without its colon (the done button's answer replaces it)."""
    at = datetime.datetime(2026, 12, 4, 16, 5, tzinfo=datetime.UTC)
    task = registry.Task(key="round:12", kind="消杀", title="3号楼电梯", at=at)
    assert (task.at_label, task.dom_id) == ("00:05", "task-round12")
    assert registry.Task(key="delivery-wait:3", kind="配送", title="3号楼").at_label == ""

    def provider(user, day):
        return [task]

    registry.register_task_provider(provider)
    try:
        body = login(liu.user).get(reverse("volunteers:today")).content.decode()
    finally:
        registry._providers.remove(provider)
    assert '<li class="task" id="task-round12">' in body
    assert "<span>00:05</span>" in body


def test_a_task_row_escapes_what_other_apps_put_in_it_and_keeps_its_forms():
    """The row is written out in Python (volunteers/templatetags/today.py): every value other
    apps give a Task is escaped as the template did, and its forms carry the CSRF token."""
    from django.template import Context, Template

    row = Template("{% load today %}{% task_row t %}")

    def render(task, token="tok"):  # noqa: S107 - a CSRF token in a test
        with translation.override("zh-hans"):
            return row.render(Context({"t": task, "csrf_token": token}))

    hostile = registry.Task(
        key="escort:7",
        kind="<b>转运</b>",
        title='<script>alert("x")</script>',
        detail="A & B <i>",
        url='/medical/escorts/7/?a=1&b="2"',
        done_url="/medical/escorts/7/step/?from=task",
        call_url="/medical/escorts/7/call/",
    )
    html = render(hostile)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;转运&lt;/b&gt;" in html and "A &amp; B &lt;i&gt;" in html
    assert 'href="/medical/escorts/7/?a=1&amp;b=&quot;2&quot;"' in html
    assert html.startswith('<li class="task" id="task-escort7">')
    # Two forms (call, done), each with the token; the done button swaps this row.
    assert html.count('<input type="hidden" name="csrfmiddlewaretoken" value="tok">') == 2
    assert 'hx-post="/medical/escorts/7/step/?from=task" hx-target="#task-escort7"' in html
    assert '<form class="call-form" method="post" action="/medical/escorts/7/call/">' in html
    assert ">拨打<" in html and ">完成<" in html
    # Done: a tick, no form; a call is no longer offered.
    done = render(dataclasses.replace(hostile, done=True))
    assert 'class="task done"' in done and "✓" in done
    assert "<form" not in done
    # No URL: the title is not a link; no token (outside a request): no hidden input.
    plain = render(registry.Task(key="x:1", kind="k", title="t", done_url="/d/"), token=None)
    assert "<a " not in plain and "<strong>t</strong>" in plain
    assert "csrfmiddlewaretoken" not in plain and 'action="/d/"' in plain
