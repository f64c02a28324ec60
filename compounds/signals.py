"""Signals the place tree sends from its own services, for upper apps to keep their copies.

compound_moved(compound, from_community_id, to_community_id) is sent inside the transaction
of compounds.services.compound_move: a receiver that updates a denormalised copy of the
compound's community does it in the same transaction, so no moment exists where the old
community still sees the compound's rows.
"""

from django.dispatch import Signal

compound_moved = Signal()

# status_rose(compound, change, by) is sent inside the transaction of
# compounds.services.compound_change_status when a compound moves to a stricter status, and
# case_recorded(compound, case, by) when a new positive case is recorded (by hand or from a
# positive result): a receiver that must undo something the compound earned (an epidemic-free
# certificate) does it in the same transaction, so the two never disagree.
status_rose = Signal()
case_recorded = Signal()
