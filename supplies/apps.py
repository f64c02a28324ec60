from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliesConfig(AppConfig):
    name = "supplies"
    verbose_name = _("Supplies")

    def ready(self) -> None:
        from compounds.registry import register_compound_panel
        from messaging.registry import register_system_templates
        from residents.registry import register_contacts, register_served_households
        from volunteers.registry import register_task_provider

        from .notify import HANDOVER, SELF_ORDER
        from .plugins import (
            compound_panel,
            delivery_contacts,
            delivery_reached,
            figures,
            serves_household,
            today_tasks,
        )

        register_compound_panel(compound_panel)
        register_task_provider(today_tasks)
        register_served_households(serves_household)
        register_contacts(delivery_contacts, reached=delivery_reached)
        from compounds.figures import register_figures

        register_figures(figures)
        # Its own texts (codes, links, reminders) are never offered for a campaign.
        register_system_templates(HANDOVER, SELF_ORDER)
        from residents.codes import register_sender

        from .services.self_order import CODE_PURPOSE, self_order_sender

        register_sender(CODE_PURPOSE, self_order_sender)
        from residents.registry import HouseholdAction, register_household_action

        from .views.household import household_order

        register_household_action(
            HouseholdAction(
                key="supplies.order",
                label=_("Order supplies"),
                view=household_order,
                order=10,
            )
        )
        from residents.registry import NeedTurn, register_need_turn

        from .plugins import need_to_order
        from .rules import may_enter_orders

        register_need_turn(
            NeedTurn(
                kind="supplies",
                label=_("Make it a proxy purchase"),
                make=need_to_order,
                may=may_enter_orders,
            )
        )
