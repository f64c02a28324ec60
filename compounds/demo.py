"""The Lanzhou place tree and one demo account per role. Safe to run again (seed_demo)."""

import datetime
from typing import cast

from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import Role, User
from compounds import services
from compounds.models import Building, Community, Compound, ControlStatus, District, Subdistrict

DEMO_PASSWORD = "Wuyi@2026"  # noqa: S105 - documented demo password, demo data only

# district code, name → sub-districts → communities → compounds (name, address, buildings,
# units per building, floors, days since the last positive case or None)
_CompoundRow = tuple[str, str, int, int, int, int | None]
PLACES: list[tuple[str, str, list[tuple[str, list[tuple[str, list[_CompoundRow]]]]]]] = [
    (
        "620102",
        "城关区",
        [
            (
                "团结新村街道",
                [
                    (
                        "天庆社区",
                        [
                            ("天庆丽舍", "城关区天水北路222号", 12, 2, 18, 3),
                            ("云祥小区", "城关区民主东路56号", 8, 3, 7, 12),
                            ("明仁花苑", "城关区渭源路68号", 10, 2, 11, None),
                        ],
                    ),
                    (
                        "民勤街社区",
                        [
                            ("民勤街小区", "城关区民勤街31号", 6, 2, 6, 20),
                            ("团结新村5号院", "城关区团结新村5号", 4, 3, 6, None),
                        ],
                    ),
                ],
            ),
            (
                "东岗西路街道",
                [
                    (
                        "东岗西路社区",
                        [
                            ("东湖小区", "城关区东岗西路488号", 9, 2, 7, 1),
                            ("省政府家属院", "城关区东岗西路520号", 5, 2, 6, None),
                        ],
                    ),
                    ("白银路社区", [("白银路小区", "城关区白银路12号", 7, 2, 7, 30)]),
                ],
            ),
            (
                "雁南街道",
                [("雁南社区", [("雁滩家园", "城关区南滨河东路719号", 16, 2, 26, 9)])],
            ),
        ],
    ),
    (
        "620103",
        "七里河区",
        [
            (
                "西园街道",
                [
                    (
                        "西园社区",
                        [
                            ("黄河家园", "七里河区西津西路16号", 14, 3, 18, 5),
                            ("西园小区", "七里河区西园路8号", 6, 2, 6, None),
                        ],
                    )
                ],
            ),
            ("敦煌路街道", [("敦煌路社区", [("敦煌路小区", "七里河区敦煌路300号", 8, 2, 7, 15)])]),
        ],
    ),
    (
        "620105",
        "安宁区",
        [
            ("培黎街道", [("培黎社区", [("培黎花园", "安宁区培黎广场1号", 11, 2, 12, 2)])]),
            (
                "刘家堡街道",
                [("刘家堡社区", [("刘家堡新村", "安宁区刘家堡路99号", 6, 2, 6, None)])],
            ),
        ],
    ),
]

# username, name, role, the place's name at the role's level
ACCOUNTS = [
    ("district", "王建国", Role.DISTRICT_STAFF, "城关区"),
    ("subdistrict", "李芳", Role.SUBDISTRICT_STAFF, "团结新村街道"),
    ("secretary", "张丽华", Role.SECRETARY, "天庆社区"),
    ("secretary2", "赵明", Role.SECRETARY, "西园社区"),
    ("volunteer", "刘洋", Role.VOLUNTEER, "天庆丽舍"),
    ("medic", "陈静", Role.MEDIC, "天庆丽舍"),
]

# Compounds put under control through the status service, so their history is real.
STATUS_STORY = [
    ("天庆丽舍", ControlStatus.SEALED, "第5轮核酸筛查发现2例阳性，3号楼、5号楼已流调。"),
    ("东湖小区", ControlStatus.SEALED, "社会面筛查阳性1例，居住于东湖小区7号楼。"),
    ("黄河家园", ControlStatus.CONTROLLED, "密接人员居住，按管控区管理。"),
    ("培黎花园", ControlStatus.SEALED, "2例阳性，全员居家。"),
    ("云祥小区", ControlStatus.PRECAUTIONARY, "毗邻封控小区，划为防范区。"),
    ("雁滩家园", ControlStatus.CONTROLLED, "次密接人员居住，按管控区管理。"),
    ("民勤街小区", ControlStatus.PRECAUTIONARY, "周边出现阳性，加强防范。"),
]

STAFF_PERMISSIONS = [
    "view_district",
    "view_subdistrict",
    "view_community",
    "view_compound",
    "change_compound",
    "view_historicalcompound",
    "view_building",
    "add_building",
    "change_building",
    "view_statuschange",
    "view_household",
    "view_resident",
    "view_vulnerabletag",
]


def _seed_compound(community: Community, code: str, row: tuple, today: datetime.date) -> Compound:
    """One demo compound and its buildings (its last positive case set when first made)."""
    name, address, n_buildings, units, floors, days = row
    compound, created = Compound.objects.get_or_create(
        code=code, defaults={"name": name, "address": address, "community": community}
    )
    if created:
        compound.last_positive_on = (
            today - datetime.timedelta(days=days) if days is not None else None
        )
        compound.save()
    for number in range(1, n_buildings + 1):
        Building.objects.get_or_create(
            compound=compound,
            number=str(number),
            defaults={"name": f"{number}号楼", "unit_count": units, "floor_count": floors},
        )
    return compound


def seed_places() -> dict[str, object]:
    """Create or refresh the demo places and accounts; returns places and users by name."""
    today = timezone.localdate()
    by_name: dict[str, object] = {}
    for d_code, d_name, subdistricts in PLACES:
        district, _ = District.objects.update_or_create(code=d_code, defaults={"name": d_name})
        by_name[d_name] = district
        for s_index, (s_name, communities) in enumerate(subdistricts, start=1):
            s_code = f"{d_code}{s_index:03d}"
            sub, _ = Subdistrict.objects.update_or_create(
                code=s_code, defaults={"name": s_name, "district": district}
            )
            by_name[s_name] = sub
            for c_index, (c_name, compounds) in enumerate(communities, start=1):
                c_code = f"{s_code}{c_index:03d}"
                community, _ = Community.objects.update_or_create(
                    code=c_code, defaults={"name": c_name, "subdistrict": sub}
                )
                by_name[c_name] = community
                for k_index, row in enumerate(compounds, start=1):
                    compound = _seed_compound(community, f"{c_code}-{k_index:02d}", row, today)
                    by_name[row[0]] = compound

    staff_group, _ = Group.objects.get_or_create(name="Wuyi staff")
    staff_group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=("compounds", "residents"),
            codename__in=STAFF_PERMISSIONS,
        )
    )

    admin, _ = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    admin.is_staff = admin.is_superuser = True
    admin.last_name, admin.first_name = "系统", "管理员"
    admin.set_password(DEMO_PASSWORD)
    admin.save()

    users = {}
    for username, full_name, role, place_name in ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.last_name, user.first_name = full_name[0], full_name[1:]
        user.role = role
        user.is_staff = role in (Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY)
        user.set_password(DEMO_PASSWORD)
        user.save()
        if user.is_staff:
            user.groups.add(staff_group)
        services.posting_add(user=user, place=cast(services.Place, by_name[place_name]))
        users[username] = user

    for name, status, reason in STATUS_STORY:
        compound = cast(Compound, by_name[name])
        if not compound.status_changes.exists():
            services.compound_change_status(
                compound_id=compound.pk,
                to_status=status,
                reason=reason,
                by=users["district"] if compound.district.code == "620102" else admin,
            )

    by_name.update(users)
    return by_name
