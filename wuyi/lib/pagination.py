"""A pager that does not count a million rows to draw its page links."""

from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import QuerySet

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (plus one, to know there are more).

    ``COUNT(*)`` over a district's million residents reads every row; a page of 50 needs only
    to know whether there is a next page. ``capped`` is true when there are more than `cap`
    rows: the page then says "10,000+" and the last pages are reached by narrowing the search.
    """

    object_list: QuerySet  # a queryset: only its rows up to the cap are counted

    def __init__(self, object_list, per_page, *, cap: int = COUNT_CAP, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap
