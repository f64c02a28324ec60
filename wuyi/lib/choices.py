"""A choice's label, as `get_FOO_display()` gives it, at a list's pace.

Django's `get_FOO_display()` builds a dict of every choice on each call, hashing each lazy
label (which translates it) to do so: about 70 µs a call for the eight categories of the
ledger. A register page of 50 rows, a gender and a category or two each, spent about 5 ms
there (issue 24). `choice_label(Category, value)` looks the one value up.
"""

from typing import Any

from django.db import models


def choice_label(choices: type[models.Choices], value: Any) -> Any:
    """The label of `value` among `choices`, in the active language; a value that is not one
    of them (a blank, a value since retired) as it is, as get_FOO_display() answers it."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value
