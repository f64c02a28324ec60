"""The district's progress page and the campaign badge on the compound list, at 30 and at
3,000 compounds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python bench/campaign.py

1. Sets up (once) two districts: BENCHC-30 with 30 compounds and BENCHC-3K with 3,000, each
   with a checklist of two manual items and every measured kind, half the compounds with their
   manual items checked, a tenth certified, some sealed with a recent case, ten residents of
   the vulnerable-person ledger in each compound (30,000 at 3,000: the served-today providers
   are asked about all of them); a district staff user in each.
2. Ours: GET /campaign/ (the progress page) and GET /compounds/ (the list with its badges) as
   each district's staff, warm (the median of five runs after one), with the queries counted.
3. Baseline in the same run: the assessment read one compound at a time (evaluate_one per
   compound, as a page looping over compounds would) for a slice of the 3,000, scaled up.

Targets: the same query count for 30 and 3,000 compounds on both pages, the progress page
under 300 ms warm at 3,000, and at least 5x the baseline. The last line sums it up; exit 1
when a target is missed.

--smoke: 30 and 300 compounds, a baseline slice of 20, in the smoke database; the speed
targets are not judged.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

LARGE = 3_000
SMALL = 30
BASELINE_SLICE = 100
TARGET_MS = 300.0
TARGET_RATIO = 5.0
RUNS = 5
LEDGER = 10  # vulnerable-person ledger residents per compound


def ensure_district(code: str, n: int):
    """District `code` with n compounds in 10 communities, its checklist, checks, certificates
    and a district staff user (created once; returns the user)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Role, User
    from campaign.models import (
        Assessment,
        Certificate,
        Check,
        Checklist,
        ChecklistGroup,
        ChecklistItem,
        ItemKind,
    )
    from compounds.models import Community, Compound, ControlStatus, District, Subdistrict
    from compounds.services import posting_add

    user, _ = User.objects.get_or_create(
        username=f"bench-campaign-{code}", defaults={"role": Role.DISTRICT_STAFF}
    )
    district, _ = District.objects.get_or_create(code=code, defaults={"name": f"基准区{code}"})
    posting_add(user=user, place=district)
    if Compound.objects.filter(district=district).count() >= n:
        add_missing_kinds(district)
        ensure_ledger(district)
        return user
    with transaction.atomic():
        sub, _ = Subdistrict.objects.get_or_create(
            code=f"{code}-S", defaults={"name": "基准街道", "district": district}
        )
        communities = [
            Community.objects.get_or_create(
                code=f"{code}-C{i}", defaults={"name": f"基准社区{i}", "subdistrict": sub}
            )[0]
            for i in range(10)
        ]
        today = timezone.localdate()
        compounds = []
        for i in range(n):
            community = communities[i % 10]
            sealed = i % 7 == 0
            compounds.append(
                Compound(
                    community=community,
                    subdistrict_id=sub.pk,
                    district_id=district.pk,
                    code=f"{code}-{i:05d}",
                    name=f"基准小区{i}",
                    status=ControlStatus.SEALED if sealed else ControlStatus.NORMAL,
                    last_positive_on=today - datetime.timedelta(days=3 if sealed else 30),
                )
            )
        Compound.objects.bulk_create(compounds)
        compounds = list(Compound.objects.filter(district=district).order_by("pk"))
        checklist, _ = Checklist.objects.get_or_create(district=district)
        group = ChecklistGroup.objects.create(checklist=checklist, title="示例")
        manual = [
            ChecklistItem.objects.create(group=group, text=f"人工条目{k}", kind=ItemKind.MANUAL)
            for k in range(2)
        ]
        for kind in ItemKind.values:
            if kind != ItemKind.MANUAL:
                ChecklistItem.objects.create(group=group, text=kind, kind=kind)
        assessments = Assessment.objects.bulk_create(
            [Assessment(compound=c) for c in compounds[: n // 2]]
        )
        Check.objects.bulk_create(
            [
                Check(assessment=a, item=item, met=True, note="已核查", checked_by=user)
                for a in assessments
                for item in manual
            ]
        )
        Certificate.objects.bulk_create(
            [
                Certificate(compound=c, number=f"{code}-{c.pk}", certified_by=user, figures=[])
                for c in compounds[: n // 10]
                if c.status == ControlStatus.NORMAL
            ]
        )
        benchdb.analyze(Compound, Assessment, Check, Certificate, ChecklistItem)
    ensure_ledger(district)
    return user


def ensure_ledger(district) -> None:
    """LEDGER residents of the vulnerable-person ledger in each compound (two to a household),
    so that "every vulnerable resident contacted today" asks the served-today providers about
    LEDGER x compounds residents (created once)."""
    from django.db import transaction

    from compounds.models import Building, Compound
    from residents.models import Household, Resident, VulnerableTag

    if VulnerableTag.objects.filter(resident__compound__district=district).exists():
        return
    with transaction.atomic():
        compounds = list(Compound.objects.filter(district=district).order_by("pk"))
        buildings = Building.objects.bulk_create(
            [Building(compound=c, number="1", name="1号楼") for c in compounds], batch_size=5000
        )
        households = Household.objects.bulk_create(
            [
                Household(compound=c, building=b, unit="1", room=str(101 + k))
                for c, b in zip(compounds, buildings, strict=True)
                for k in range(LEDGER // 2)
            ],
            batch_size=10_000,
        )
        community_of = {c.pk: c.community_id for c in compounds}
        residents = Resident.objects.bulk_create(
            [
                Resident(
                    household=h,
                    compound_id=h.compound_id,
                    community_id=community_of[h.compound_id],
                    name=f"老人{k}",
                )
                for h in households
                for k in range(2)
            ],
            batch_size=10_000,
        )
        VulnerableTag.objects.bulk_create(
            [VulnerableTag(resident=r, category="elderly_alone") for r in residents],
            batch_size=10_000,
        )
        benchdb.analyze(Building, Household, Resident, VulnerableTag)


def add_missing_kinds(district) -> None:
    """A set-up made before a measured kind existed gets an item of that kind now."""
    from campaign.models import Checklist, ChecklistGroup, ChecklistItem, ItemKind

    checklist = Checklist.objects.get(district=district)
    have = set(
        ChecklistItem.objects.filter(group__checklist=checklist).values_list("kind", flat=True)
    )
    group = ChecklistGroup.objects.filter(checklist=checklist).first()
    for kind in set(ItemKind.values) - have:
        ChecklistItem.objects.create(group=group, text=kind, kind=kind)


def measure(client, user, url: str) -> tuple[float, int]:
    """(median warm milliseconds, queries) of GET url as user."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    response = client.get(url)  # warm
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(times), len(ctx.captured_queries)


def baseline(code: str, slice_: int, total: int) -> float:
    """Milliseconds to read `total` assessments one compound at a time (a slice, scaled)."""
    from campaign.selectors import evaluate_one
    from compounds.models import Compound

    compounds = list(Compound.objects.filter(district__code=code).order_by("pk")[:slice_])
    started = time.perf_counter()
    for c in compounds:
        evaluate_one(c)
    return (time.perf_counter() - started) * 1000 / len(compounds) * total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a small size, for CI")
    args = parser.parse_args()
    large = 300 if args.smoke else LARGE
    slice_ = 20 if args.smoke else BASELINE_SLICE
    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)

    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SECURE_SSL_REDIRECT = False
    # The pages' templates name static files; the manifest exists only after collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    small_code, large_code = "BENCHC-30", f"BENCHC-{large}"
    small_user = ensure_district(small_code, SMALL)
    large_user = ensure_district(large_code, large)
    client = Client()

    p_small_ms, p_small_q = measure(client, small_user, "/campaign/")
    p_large_ms, p_large_q = measure(client, large_user, "/campaign/")
    l_small_ms, l_small_q = measure(client, small_user, "/compounds/")
    l_large_ms, l_large_q = measure(client, large_user, "/compounds/")
    print(
        f"progress page: {p_small_q} queries / {p_small_ms:.0f} ms at {SMALL}, "
        f"{p_large_q} queries / {p_large_ms:.0f} ms at {large:,}"
    )
    print(
        f"compound list: {l_small_q} queries / {l_small_ms:.0f} ms at {SMALL}, "
        f"{l_large_q} queries / {l_large_ms:.0f} ms at {large:,}"
    )
    base_ms = baseline(large_code, slice_, large)
    ratio = base_ms / p_large_ms if p_large_ms else float("inf")
    print(
        f"baseline: one compound at a time, {base_ms:.0f} ms for {large:,} "
        f"(from a slice of {slice_})"
    )

    ok = {
        "progress queries": p_small_q == p_large_q,
        "list queries": l_small_q == l_large_q,
        "progress time": p_large_ms < TARGET_MS,
        "ratio": ratio >= TARGET_RATIO,
    }
    speed = {"progress time", "ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print()
    print(f"  progress    {p_small_q} / {p_large_q} queries for {SMALL} / {large:,} (target equal)")
    print(f"  list        {l_small_q} / {l_large_q} queries for {SMALL} / {large:,} (target equal)")
    print(f"  warm        {p_large_ms:.0f} ms at {large:,} (target < {TARGET_MS:.0f} ms)")
    print(f"  ratio       {ratio:.1f} x one compound at a time (target >= {TARGET_RATIO:.0f}x)")
    print(
        f"campaign: progress {p_large_ms:.0f} ms at {large:,} compounds, {ratio:.1f}x baseline, "
        f"queries {p_small_q}/{p_large_q} and list {l_small_q}/{l_large_q}: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
