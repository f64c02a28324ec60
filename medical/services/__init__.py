"""Writes on escorts, schedules and emergencies. The pages, the API, the booking job, the
management command and seed_demo all call these, as ``services.<name>``: every public name of
the modules below is re-exported here.

- common: the escort's steps, jurisdiction checks, pickup, designated hospital, clashes
- escorts: one-off escorts booked, assigned, moved along; ambulances on and off a job
- emergencies: reported and dispatched
- schedules: recurring treatments saved, paused, resumed, ended
- booking: the booking job and the reminders it sends
- departures: a resident who left the register
"""

from .booking import (
    BOOK_CHUNK,
    BOOK_FIELDS,
    RESEND_AFTER,
    RESEND_WINDOW,
    BookResult,
    escort_rows,
    escorts_book,
    escorts_notify_due,
)
from .common import (
    AUTO,
    designated_hospital,
    escort_call,
    history,
    pickup_of,
)
from .departures import (
    DEPARTED,
    escorts_cancel_for_departure,
    on_resident_left,
)
from .emergencies import (
    DOUBLE_SUBMIT,
    emergency_dispatch,
    emergency_report,
    nearest_free_ambulance,
)
from .escorts import (
    ambulance_set_status,
    check_ambulance_move,
    escort_advance,
    escort_assign,
    escort_book,
    escort_notify,
)
from .schedules import (
    schedule_save,
    schedule_set_status,
)

__all__ = [
    "AUTO",
    "BOOK_CHUNK",
    "BOOK_FIELDS",
    "DEPARTED",
    "DOUBLE_SUBMIT",
    "RESEND_AFTER",
    "RESEND_WINDOW",
    "BookResult",
    "ambulance_set_status",
    "check_ambulance_move",
    "designated_hospital",
    "emergency_dispatch",
    "emergency_report",
    "escort_advance",
    "escort_assign",
    "escort_book",
    "escort_call",
    "escort_notify",
    "escort_rows",
    "escorts_book",
    "escorts_cancel_for_departure",
    "escorts_notify_due",
    "history",
    "nearest_free_ambulance",
    "on_resident_left",
    "pickup_of",
    "schedule_save",
    "schedule_set_status",
]
