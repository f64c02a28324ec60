"""The app's permission rules as template filters, so a page offers only what its reader may
open: `{% load medical_rules %}{% if user|may_report_emergency %}…`."""

from django import template

from medical import rules

register = template.Library()
register.filter("may_report_emergency", rules.may_report_emergency)
