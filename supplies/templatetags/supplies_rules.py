"""The app's permission rules as template filters, so a page offers only what its reader may
open: `{% load supplies_rules %}{% if user|may_enter_orders %}…`."""

from django import template

from supplies import rules

register = template.Library()
register.filter("may_enter_orders", rules.may_enter_orders)
