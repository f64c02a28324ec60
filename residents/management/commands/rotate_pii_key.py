"""manage.py rotate_pii_key: re-encrypt and re-hash ID numbers stored under an older key.

Set WUYI_PII_KEY="new-key,old-key" first, run this (idempotent: a second run finds nothing to
do), then drop the old key. The last line says what it did.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from residents.models import Resident
from wuyi.lib import pii
from wuyi.lib.iters import batched

BATCH = 1000


class Command(BaseCommand):
    help = "Re-encrypt and re-hash ID numbers with the first key of WUYI_PII_KEY (idempotent)."

    def handle(self, *args, **options) -> None:
        rotated = current = 0
        ids = Resident.objects.exclude(id_cipher="").order_by("pk").values_list("pk", flat=True)
        for block in batched(ids.iterator(chunk_size=BATCH), BATCH):
            with transaction.atomic():
                changed = []
                for resident in Resident.objects.select_for_update().filter(pk__in=block):
                    id18 = resident.national_id
                    if pii.is_current(resident.id_cipher) and resident.id_hash == pii.keyed_hash(
                        id18
                    ):
                        current += 1
                        continue
                    resident.set_national_id(id18)
                    changed.append(resident)
                Resident.objects.bulk_update(changed, ["id_cipher", "id_hash", "id_last4"])
                rotated += len(changed)
        self.stdout.write(f"re-encrypted {rotated} residents, {current} already current")
