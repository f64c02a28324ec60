"""Reading a volunteer list (xlsx or csv: 姓名, 手机, 所属队伍, 党员, 退役军人) into checked rows,
on the ground floor's spreadsheet reading, with each bad cell named by row and column as the
resident import names them."""

import itertools
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from wuyi.lib import cn
from wuyi.lib.spreadsheets import (
    HEADER_SCAN_ROWS,
    ImportFileError,
    RowError,
    find_header,
    is_blank,
    read_rows,
)

from .models import Team

HEADER_ALIASES = {
    "name": ("姓名", "名字", "name"),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "phone", "mobile"),
    "teams": ("所属队伍", "队伍", "志愿服务队", "所在队伍", "team", "teams"),
    "party": ("党员", "是否党员", "中共党员", "party"),
    "veteran": ("退役军人", "是否退役军人", "veteran"),
}
LABELS = {
    "name": "姓名",
    "phone": "手机",
    "teams": "所属队伍",
    "party": "党员",
    "veteran": "退役军人",
}
YES = {"是", "√", "✓", "y", "yes", "1", "true", "党员", "退役军人", "有"}
NO = {"", "否", "×", "n", "no", "0", "false", "无", "非党员"}
TEAM_SPLIT = ("、", ",", "，", ";", "；", "/")


def _flag(value: Any) -> bool:
    text = cn.excel_number_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise cn.NormalizeError(_("Write 是 or 否."))


def _teams(text: str, known: dict[str, Team]) -> list[Team]:
    for sep in TEAM_SPLIT[1:]:
        text = text.replace(sep, TEAM_SPLIT[0])
    names = [n.strip() for n in text.split(TEAM_SPLIT[0]) if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise cn.NormalizeError(
            _("No team “%(names)s” in this community. Teams: %(known)s.")
            % {"names": "、".join(unknown), "known": "、".join(known) or "—"}
        )
    return [known[n] for n in names]


def _phone_problem(phone: str, seen: dict[str, int]) -> str:
    """Why a row's cleaned phone cannot be a volunteer's login ("" when it can): empty, a
    landline, or on an earlier row of the list (`seen`: phone -> row)."""
    if not phone:
        return _("The phone is empty.")
    if "-" in phone:
        return _("Enter a mobile number: a landline cannot log in.")
    if phone in seen:
        return _("The same phone is already on row %(row)d.") % {"row": seen[phone]}
    return ""


def parse(path: str | Path, *, community_id: int) -> tuple[list[dict], list[RowError], int]:
    """The good rows (ready for services.volunteer_create), the errors, the count of rows."""
    rows = read_rows(path)
    first = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    header = find_header(first, HEADER_ALIASES, required="name")
    if header is None or "phone" not in header.columns:
        raise ImportFileError(
            _("No header row found: the list needs at least 姓名 and 手机 in its header.")
        )
    known = {t.name: t for t in Team.objects.filter(community_id=community_id)}
    label = {key: header.label(key, LABELS[key]) for key in LABELS}
    good: list[dict] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    total = 0
    for number, row in enumerate(itertools.chain(first, rows), start=1):
        if number <= header.index + 1 or is_blank(row):
            continue
        total += 1

        def cell(key: str, row: list = row) -> Any:
            col = header.columns.get(key)
            return row[col] if col is not None and col < len(row) else ""

        row_errors: list[RowError] = []
        data: dict[str, Any] = {}
        for key, func in (
            ("name", cn.clean_name),
            ("phone", cn.normalize_phone),
            ("party", _flag),
            ("veteran", _flag),
        ):
            try:
                data[key] = func(cell(key))
            except cn.NormalizeError as exc:
                row_errors.append(RowError(number, label[key], str(exc.message)))
        try:
            data["teams"] = _teams(cn.free_text(cell("teams")), known)
        except cn.NormalizeError as exc:
            row_errors.append(RowError(number, label["teams"], str(exc.message)))
        phone = data.get("phone")
        if phone is not None:
            message = _phone_problem(phone, seen)
            if message:
                row_errors.append(RowError(number, label["phone"], message))
            else:
                seen[phone] = number
        if row_errors:
            errors.extend(row_errors)
            continue
        good.append(
            {
                "row": number,
                "name": data["name"],
                "phone": data["phone"],
                "teams": data["teams"],
                "is_party_member": data["party"],
                "is_veteran": data["veteran"],
            }
        )
    if total == 0:
        raise ImportFileError(_("The list has a header but no rows of volunteers."))
    # Phones registered already (as anyone's login): one query for the whole list.
    registered = set(
        User.objects.filter(username__in=[r["phone"] for r in good]).values_list(
            "username", flat=True
        )
    )
    for r in good:
        if r["phone"] in registered:
            errors.append(
                RowError(r["row"], label["phone"], _("This phone number is registered already."))
            )
    good = [r for r in good if r["phone"] not in registered]
    errors.sort(key=lambda e: e.row)
    return good, errors, total
