"""The register's old quarantine fields (residents.Resident.quarantine, quarantine_from,
quarantine_until) become screening's records: one per person who had a kind set. The fields
go in residents' next migration, which depends on this one.

home → home isolation, close → close contact, secondary → secondary close contact; kept at
home (the old field said nothing of a place). A missing start is read back from the end (14
days before it) or the record's last change; a missing end is 14 days after the start. A
quarantine whose last day has passed (Asia/Shanghai), or a person who left the register, is
released at the end of that day, as the old field stopped counting them then. A person who
already has an open record here (or this one, migrated back and forth) gets no copy.

Reversed, each person's latest record is written back into the fields (the records stay).
"""

import datetime

from django.db import migrations, models
from django.utils import timezone

KINDS = {"home": "isolation", "close": "close", "secondary": "secondary"}
BACK = {"isolation": "home", "close": "close", "secondary": "secondary", "case": "home"}
DAYS = datetime.timedelta(days=14)


def _end_of(day):
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def copy_to_records(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    Quarantine = apps.get_model("screening", "Quarantine")
    today = timezone.localdate()
    already = set(
        Quarantine.objects.filter(released_at__isnull=True).values_list("resident_id", flat=True)
    )
    # Migrated back and forth: a record already copied is not copied twice.
    copied = set(Quarantine.objects.values_list("resident_id", "starts_on"))
    rows = (
        Resident.objects.exclude(quarantine="")
        .order_by("pk")
        .values_list(
            "pk", "compound_id", "quarantine", "quarantine_from", "quarantine_until", "left_on",
            "updated_at",
        )
    )
    batch = []
    for pk, compound_id, kind, start, until, left_on, updated_at in rows.iterator(chunk_size=2000):
        if kind not in KINDS:
            continue
        start = start or (until - DAYS if until else timezone.localdate(updated_at))
        end = max(until or start + DAYS, start)
        released_at = None
        if until is not None and until < today:
            released_at = _end_of(until)
        if left_on is not None:
            released_at = min(released_at or _end_of(left_on), _end_of(left_on))
        if (released_at is None and pk in already) or (pk, start) in copied:
            continue
        batch.append(
            Quarantine(
                compound_id=compound_id,
                resident_id=pk,
                kind=KINDS[kind],
                place="home",
                starts_on=start,
                ends_on=end,
                released_at=released_at,
                created_at=updated_at,
            )
        )
        if len(batch) == 1000:
            Quarantine.objects.bulk_create(batch)
            batch = []
    Quarantine.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    Quarantine = apps.get_model("screening", "Quarantine")
    records = Quarantine.objects.order_by("resident_id", "-created_at", "-pk").values_list(
        "resident_id", "kind", "starts_on", "ends_on", "released_at"
    )
    seen = set()
    for resident_id, kind, start, end, released_at in records.iterator(chunk_size=2000):
        if resident_id in seen:
            continue
        seen.add(resident_id)
        if released_at is not None:
            end = min(end, timezone.localdate(released_at) - datetime.timedelta(days=1))
        Resident.objects.filter(pk=resident_id).update(
            quarantine=BACK.get(kind, "home"),
            quarantine_from=start,
            quarantine_until=max(end, start),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0002_sms_template"),
        ("residents", "0010_history_keeps_no_personal_values"),
    ]

    operations = [
        migrations.AlterField(
            model_name="quarantine",
            name="kind",
            field=models.CharField(
                choices=[
                    ("case", "Case"),
                    ("close", "Close contact"),
                    ("secondary", "Secondary close contact"),
                    ("isolation", "Home isolation"),
                ],
                max_length=10,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(copy_to_records, copy_back, elidable=False),
    ]
