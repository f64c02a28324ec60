"""Shift plans at city scale, and the phone view's query count.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python bench/shifts.py

1. Sets up 3,000 compounds (codes BENCHV-*) with four shift templates each (门岗, 配送, 消杀,
   夜间值守): places by bulk_create, once.
2. Ours: volunteers.services.shifts_apply() of every template over a week: 84,000 shifts, and
   a second run that finds them all (idempotent).
3. Baseline in the same run: one Shift.objects.create() per shift, on a slice of the same
   shifts (the week after), as a form saving one shift at a time would.
4. The phone view (volunteers.views.today) rendered for one volunteer with 5 and with 500
   tasks from a provider that reads them in one query: the query counts must be equal.

Targets: the week created in under 10 s, at least 10x the baseline's rate; equal query
counts. The last line sums it up; exit 1 when a target is missed.

--smoke: 100 compounds (2,800 shifts), a baseline of 200 shifts, in the smoke database; the
speed targets are not judged.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

COMPOUNDS = 3000
TEMPLATES = [("门岗", 8, 12, 2), ("配送", 14, 18, 3), ("消杀", 9, 11, 1), ("夜间值守", 20, 23, 1)]
BASELINE_SHIFTS = 2000
TARGET_SECONDS = 10.0
TARGET_RATIO = 10.0


def ensure_places(compounds_wanted: int = COMPOUNDS):
    """The bench's compounds and their templates (created once, then analysed)."""
    from compounds.models import Community, Compound, District, Subdistrict
    from volunteers.models import ShiftTemplate

    district, _ = District.objects.get_or_create(code="BENCHV-D", defaults={"name": "排班基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCHV-S", defaults={"name": "排班基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code="BENCHV-C", defaults={"name": "排班基准社区", "subdistrict": sub}
    )
    if Compound.objects.filter(community=community).count() > compounds_wanted:
        # A smaller size than the last set-up: start again.
        Compound.objects.filter(community=community).delete()
    have = Compound.objects.filter(community=community).count()
    if have < compounds_wanted:
        Compound.objects.bulk_create(
            [
                Compound(
                    community=community,
                    subdistrict=sub,
                    district=district,
                    code=f"BENCHV-K{n:05d}",
                    name=f"排班小区{n}",
                )
                for n in range(have, compounds_wanted)
            ],
            batch_size=2000,
        )
    compounds = list(Compound.objects.filter(community=community).order_by("pk"))
    if ShiftTemplate.objects.filter(compound__community=community).count() != 4 * len(compounds):
        ShiftTemplate.objects.filter(compound__community=community).delete()
        ShiftTemplate.objects.bulk_create(
            [
                ShiftTemplate(
                    compound=c,
                    name=name,
                    starts=datetime.time(start),
                    ends=datetime.time(end),
                    needed=needed,
                )
                for c in compounds
                for name, start, end, needed in TEMPLATES
            ],
            batch_size=5000,
        )
        benchdb.analyze(Compound, ShiftTemplate)
    return community, compounds


def admin_user():
    from accounts.models import User

    user, _ = User.objects.get_or_create(username="bench_admin", defaults={"is_superuser": True})
    user.is_superuser = user.is_active = True
    user.save()
    return user


def query_counts(admin, community, many: int = 500) -> tuple[int, int]:
    """The today page for one volunteer with 5 and with `many` tasks."""
    from django.conf import settings
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.db import connection
    from django.test import RequestFactory, override_settings
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from volunteers import registry, services, views
    from volunteers.models import Shift, Volunteer

    volunteer = Volunteer.objects.filter(phone="19900000001").first()
    if volunteer is None:
        volunteer, _token = services.volunteer_create(
            by=admin, community=community, name="基准志愿者", phone="19900000001"
        )
    limit = {"n": 5}

    def provider(user, day):
        rows = Shift.objects.filter(compound__community=community, date=day).values_list(
            "pk", "name", "starts_at"
        )[: limit["n"]]
        return [
            registry.Task(key=f"bench:{pk}", kind="配送", title=name, at=at, done_url="/x/")
            for pk, name, at in rows
        ]

    # DEBUG is off here: no collected manifest is needed to render the page.
    plain_static = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    registry.register_task_provider(provider)
    counts = []
    try:
        for n in (5, many):
            limit["n"] = n
            request = RequestFactory().get("/volunteers/today/")
            request.user = User.objects.get(pk=volunteer.user_id)
            request.session = {}
            request._messages = FallbackStorage(request)
            request.htmx = False
            with plain_static, CaptureQueriesContext(connection) as queries:
                response = views.today(request)
            if response.status_code != 200 or response.content.decode().count('class="task') < n:
                sys.exit(f"the phone view did not list the {n} tasks")
            counts.append(len(queries))
    finally:
        registry._providers.remove(provider)
    return counts[0], counts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=COMPOUNDS, help="the city's size")
    parser.add_argument("--smoke", action="store_true", help="a small size, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.compounds = 100
    baseline_shifts = 200 if args.smoke else BASELINE_SHIFTS
    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)
    from django.db import connection
    from django.utils import timezone

    from volunteers import services
    from volunteers.models import Shift, ShiftTemplate
    from wuyi.lib import localday

    community, _compounds = ensure_places(args.compounds)
    admin = admin_user()
    templates = list(ShiftTemplate.objects.filter(compound__community=community))
    Shift.objects.filter(compound__community=community).delete()
    with connection.cursor() as cur:
        cur.execute("ANALYZE volunteers_shift")
    first = timezone.localdate()
    last = first + datetime.timedelta(days=6)

    started = time.perf_counter()
    created, _existed = services.shifts_apply(by=admin, templates=templates, first=first, last=last)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    again = services.shifts_apply(by=admin, templates=templates, first=first, last=last)
    second = time.perf_counter() - started
    print(
        f"ours: {created:,} shifts in {ours:.2f} s ({created / ours:,.0f}/s); second run "
        f"{again[0]:,} created, {again[1]:,} already existed in {second:.2f} s",
        flush=True,
    )

    # Baseline: one save per shift, the week after, on a slice.
    base_first = last + datetime.timedelta(days=1)
    slice_ = []
    for template in templates:
        for n in range(7):
            day = base_first + datetime.timedelta(days=n)
            slice_.append((template, day))
            if len(slice_) >= baseline_shifts:
                break
        if len(slice_) >= baseline_shifts:
            break
    started = time.perf_counter()
    for template, day in slice_:
        Shift.objects.create(
            compound_id=template.compound_id,
            template=template,
            name=template.name,
            date=day,
            starts_at=localday.aware(day, template.starts),
            ends_at=localday.aware(day, template.ends),
            needed=template.needed,
        )
    base = time.perf_counter() - started
    base_rate = len(slice_) / base
    ratio = (created / ours) / base_rate
    print(f"baseline: {len(slice_):,} shifts one save each in {base:.2f} s ({base_rate:,.0f}/s)")

    tasks = 100 if args.smoke else 500
    few, many = query_counts(admin, community, tasks)
    print(f"phone view: {few} queries with 5 tasks, {many} with {tasks}")
    Shift.objects.filter(compound__community=community).delete()

    ok = {
        "count": created == 7 * len(templates) and again[0] == 0,
        "time": ours < TARGET_SECONDS,
        "ratio": ratio >= TARGET_RATIO,
        "queries": few == many,
    }
    print()
    print(f"  week of shifts      {created:,} in {ours:.2f} s (target < {TARGET_SECONDS:.0f} s)")
    print(f"  ratio               {ratio:.1f} x one save per shift (target >= {TARGET_RATIO:.0f}x)")
    print(f"  phone view queries  {few} and {many} (5 and {tasks} tasks; target equal)")
    speed = {"time", "ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print(
        f"shifts: {created:,} shifts in {ours:.2f} s, {ratio:.1f} x one save per shift, "
        f"queries {few}/{many}: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
