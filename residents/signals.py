"""Signals the register sends from its own services, for the apps above to follow it.

resident_left(resident, by, reason, on) is sent inside the transaction of
residents.services.resident_leave, once per resident taken off the register (a double submit
sends nothing). A receiver that cancels what was booked for the resident (medical: coming
escorts, recurring schedules) does it in the same transaction: the resident is gone and their
bookings with it, or neither.
"""

from django.dispatch import Signal

resident_left = Signal()
