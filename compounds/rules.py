"""Who may act on compounds, and the control-status graph. Reading is governed by visible_to;
these govern changes."""

from typing import Any

from accounts.access import active
from accounts.models import Role
from wuyi.lib.graphs import Graph

from .models import ControlStatus

STATUS_CHANGERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}


def may_change_status(user: Any) -> bool:
    """Move a compound between control statuses and record a new positive case."""
    return active(user) and (user.is_superuser or user.role in STATUS_CHANGERS)


S = ControlStatus
# Where a compound may go from each status. Tightening may jump any number of steps at once;
# loosening goes one step at a time (sealed → controlled → precautionary → normal), because
# each step down is a decision taken on its own evidence. A step down from sealed or controlled
# also waits for the quiet period (compound_change_status checks it, after the graph).
M = may_change_status
CONTROL = Graph(
    "control status",
    ControlStatus,
    {
        S.NORMAL: {S.PRECAUTIONARY: M, S.CONTROLLED: M, S.SEALED: M},
        S.PRECAUTIONARY: {S.NORMAL: M, S.CONTROLLED: M, S.SEALED: M},
        S.CONTROLLED: {S.PRECAUTIONARY: M, S.SEALED: M},
        S.SEALED: {S.CONTROLLED: M},
    },
    field="to_status",
)
