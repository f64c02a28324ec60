"""Fill locale/zh_Hans/LC_MESSAGES/django.po from zh_hans_terms.ZH and list what is missing.

Run by `make messages` after makemessages. Exit status 1 when a message has no Chinese.
"""

import sys
from pathlib import Path

import polib

sys.path.insert(0, str(Path(__file__).parent))
from zh_hans_terms import ZH

PO = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main() -> int:
    po = polib.pofile(str(PO))
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        zh = ZH.get(entry.msgid)
        if zh is None:
            missing.append(entry.msgid)
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: zh}
        else:
            entry.msgstr = zh
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        entry.previous_msgid_plural = None
        entry.previous_msgctxt = None
    po.save()
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
