"""The .po files are the source of the translations: every message the code uses has Chinese,
and the compiled catalogue says the same as the .po."""

import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_has_chinese():
    po = polib.pofile(str(PO))
    missing = [
        entry.msgid
        for entry in po
        if not entry.obsolete
        and ("fuzzy" in entry.flags or not (entry.msgstr or any(entry.msgstr_plural.values())))
    ]
    assert not missing, "untranslated in django.po (translate them there):\n" + "\n".join(missing)


def test_compiled_catalogue_matches_the_po():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in mo}
    stale = [
        e.msgid
        for e in po
        if not e.obsolete and not e.msgid_plural and compiled.get((e.msgctxt, e.msgid)) != e.msgstr
    ]
    assert not stale, "run `make messages` (compilemessages): .mo differs for\n" + "\n".join(stale)


def test_no_message_in_the_code_is_missing_from_the_po(tmp_path):
    """makemessages in a copy of the project finds nothing the committed .po lacks."""
    import shutil

    if shutil.which("xgettext") is None:
        pytest.skip("gettext is not installed (apt-get install gettext)")
    root = Path(settings.BASE_DIR)
    before = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete}
    copy = tmp_path / "project"
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "docs", "bench", "tests", "*.pyc"),
    )
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "-i",
            "var",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    extracted = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    after = {(e.msgctxt, e.msgid) for e in extracted if not e.obsolete}
    new = sorted(f"{ctxt}|{msgid}" if ctxt else msgid for ctxt, msgid in after - before)
    assert not new, "run `make messages`; new messages:\n" + "\n".join(new)
