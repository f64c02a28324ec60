"""The daily report a district sends upward every evening: every installed app's figures, one
row per community, one sheet per section, written as xlsx under WUYI_REPORT_DIR and shown as a
printable page read from the same file (so a past report stays what was sent)."""

import datetime
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.figures import Figure, Places, Split, figure_providers
from compounds.models import Community, Compound, District
from wuyi.lib.localday import start_of
from wuyi.lib.spreadsheets import spreadsheet_safe

_SAFE_CODE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def report_dir() -> Path:
    return Path(settings.WUYI_REPORT_DIR)


def report_path(district: District, day: datetime.date) -> Path:
    code = _SAFE_CODE.sub("-", district.code) or str(district.pk)
    return report_dir() / day.isoformat() / f"{code}.xlsx"


def _as_of(day: datetime.date) -> datetime.datetime:
    """The instant a day's figures are counted at: now for today, the day's end for a past
    day."""
    end = start_of(day + datetime.timedelta(days=1)) - datetime.timedelta(microseconds=1)
    return min(timezone.now(), end)


def report_sections(district: District, day: datetime.date) -> list[Section]:
    """Every provider's figures for each community of the district (brief: no charts, no
    alerts), as sections of rows. Each provider counts the whole district once, grouped by
    community (`Places.by_community`): a constant number of queries per district. A provider
    that does not split its figures by community is asked once per community instead."""
    communities = list(
        Community.objects.filter(subdistrict__district=district)
        .select_related("subdistrict")
        .order_by("subdistrict__code", "code")
    )
    now = _as_of(day)
    whole = Places(
        compounds=Compound.objects.filter(district=district),
        day=day,
        now=now,
        brief=True,
        by_community=True,
    )
    figures: list[Figure] = []
    for provider in figure_providers():
        found = provider(whole).figures
        if any(figure.per is None for figure in found):
            found = _asked_per_community(provider, communities, day, now)
        figures += found
    figures.sort(key=lambda f: f.order)
    grouped: dict[str, list[Figure]] = {}
    for figure in figures:
        grouped.setdefault(figure.section, []).append(figure)
    sections = []
    place_columns = [_("Sub-district"), _("Community")]
    for title, in_section in grouped.items():
        section = Section(
            title,
            [*place_columns, *(f"{f.label} ({f.unit})" if f.unit else f.label for f in in_section)],
        )
        for community in communities:
            values = [f.per[community.pk] if f.per is not None else None for f in in_section]
            section.rows.append([community.subdistrict.name, community.name, *values])
        sections.append(section)
    return sections


def _asked_per_community(
    provider: Any, communities: list[Community], day: datetime.date, now: datetime.datetime
) -> list[Figure]:
    """A provider's figures with `per` filled by asking it once for each community."""
    values: dict[str, dict[int, Any]] = {}
    first: dict[str, Figure] = {}
    for community in communities:
        places = Places(
            compounds=Compound.objects.filter(community=community), day=day, now=now, brief=True
        )
        for figure in provider(places).figures:
            first.setdefault(figure.key, figure)
            values.setdefault(figure.key, {})[community.pk] = figure.value
    return [replace(figure, per=Split(values[key], default=None)) for key, figure in first.items()]


def report_write(district: District, day: datetime.date) -> Path:
    """Write (or write again) the district's report of `day`. The file is written beside its
    final name and renamed into place, so two runs at once each leave a whole file, the same."""
    from openpyxl import Workbook

    path = report_path(district, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    sections = report_sections(district, day)
    for section in sections:
        sheet = workbook.create_sheet(title=_SHEET_UNSAFE.sub(" ", section.title)[:31] or "-")
        sheet.append([spreadsheet_safe(c) for c in section.columns])
        for row in section.rows:
            sheet.append([spreadsheet_safe(v) for v in row])
    if not sections:
        workbook.create_sheet(title=_("Empty"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".xlsx.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            workbook.save(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def reports_write(
    day: datetime.date, *, district_code: str | None = None
) -> tuple[list[Path], int]:
    """Each district's report of `day` (or the one named): the paths written, and how many of
    them replaced a file already there."""
    districts = District.objects.order_by("code")
    if district_code is not None:
        districts = districts.filter(code=district_code)
    written, replaced = [], 0
    for district in districts:
        replaced += report_path(district, day).exists()
        written.append(report_write(district, day))
    return written, replaced


def read_report(path: Path) -> list[Section]:
    """A written report's sections, read back for the printable page."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        sections = []
        for sheet in workbook.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            if rows:
                sections.append(Section(sheet.title, [str(c) for c in rows[0]], rows[1:]))
        return sections
    finally:
        workbook.close()


def past_reports(district: District, *, limit: int = 60) -> list[datetime.date]:
    """The days a report of the district was written for, newest first."""
    name = report_path(district, datetime.date.today()).name
    days = []
    root = report_dir()
    if root.is_dir():
        for entry in root.iterdir():
            try:
                day = datetime.date.fromisoformat(entry.name)
            except ValueError:
                continue
            if (entry / name).is_file():
                days.append(day)
    return sorted(days, reverse=True)[:limit]
