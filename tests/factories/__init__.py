"""factory_boy factories, one per model that has visible_to.

The convention the URL walk relies on (tests/test_url_walk.py): for every model whose manager
has ``visible_to`` there is a ``<Model>Factory`` in this package (one module per subject, every
factory re-exported here, so ``from tests.factories import X`` and ``getattr(factories, name)``
find it), and calling it with ``compound=<a compound>`` makes a row that lies under that
compound and carries the compound's name in a text the pages show (so community A's rows carry
the marker ALPHA). Place-tree models are made by the fixtures themselves; their factories take
``compound`` as any other and make a fresh row. A new app's factories go in a new module here,
imported below.
"""

from .medical import (
    AmbulanceFactory,
    EscortFactory,
    HospitalFactory,
    MedicalStaffFactory,
    ScheduleFactory,
)
from .messaging import (
    BudgetFactory,
    MessageFactory,
    OptOutFactory,
    RecipientFactory,
)
from .places import (
    AlertFactory,
    BuildingFactory,
    CommunityFactory,
    CompoundFactory,
    DistrictFactory,
    PostingFactory,
    StatusChangeFactory,
    SubdistrictFactory,
    UserFactory,
)
from .residents import (
    HouseholdActionLogFactory,
    HouseholdFactory,
    HouseholdLinkFactory,
    ImportJobFactory,
    PersonalDataAccessFactory,
    ResidentFactory,
    VulnerableTagFactory,
)
from .sanitation import (
    AreaFactory,
    RoundFactory,
    WasteRecordFactory,
)
from .supplies import (
    CatalogueItemFactory,
    DeliveryRuleFactory,
    GroupBuyFactory,
    OrderFactory,
    OrderLinkFactory,
    ProxyPurchaseFactory,
    SupplierFactory,
)
from .volunteers import (
    AssignmentFactory,
    CategoryMappingFactory,
    MembershipFactory,
    PartyBranchFactory,
    PositiveCaseFactory,
    ShiftFactory,
    ShiftTemplateFactory,
    TeamFactory,
    VolunteerFactory,
)

__all__ = [
    "AlertFactory",
    "AmbulanceFactory",
    "AreaFactory",
    "AssignmentFactory",
    "BudgetFactory",
    "BuildingFactory",
    "CatalogueItemFactory",
    "CategoryMappingFactory",
    "CommunityFactory",
    "CompoundFactory",
    "DeliveryRuleFactory",
    "DistrictFactory",
    "EscortFactory",
    "GroupBuyFactory",
    "HospitalFactory",
    "HouseholdActionLogFactory",
    "HouseholdFactory",
    "HouseholdLinkFactory",
    "ImportJobFactory",
    "MedicalStaffFactory",
    "MembershipFactory",
    "MessageFactory",
    "OptOutFactory",
    "OrderFactory",
    "OrderLinkFactory",
    "PartyBranchFactory",
    "PersonalDataAccessFactory",
    "PositiveCaseFactory",
    "PostingFactory",
    "ProxyPurchaseFactory",
    "RecipientFactory",
    "ResidentFactory",
    "RoundFactory",
    "ScheduleFactory",
    "ShiftFactory",
    "ShiftTemplateFactory",
    "StatusChangeFactory",
    "SubdistrictFactory",
    "SupplierFactory",
    "TeamFactory",
    "UserFactory",
    "VolunteerFactory",
    "VulnerableTagFactory",
    "WasteRecordFactory",
]

# The factories of the apps that keep them beside their tests (tests/<app>/factories.py).
from tests.screening import factories as _screening
from tests.screening.factories import *  # noqa: F403

__all__ += _screening.__all__
from tests.campaign.factories import *  # noqa: E402, F403
from tests.care.factories import *  # noqa: E402, F403
