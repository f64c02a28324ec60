"""Pagers: one that does not count a million rows to draw its page links, and the API's.

The API's (Pagination) is DRF's DEFAULT_PAGINATION_CLASS: it lives here, apart from
wuyi.lib.drf, because DRF imports it while wuyi.lib.drf is still importing DRF's views."""

from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework import pagination

from .params import int_param

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


class Pagination(pagination.PageNumberPagination):
    """Pages numbered from 1. A page "number" that is not a whole number from 1 up is a 400
    naming ``page``, like any query parameter (DRF's own answers 404); a page past the last is
    DRF's 404 "Invalid page", as no schema can say where the last page is."""

    def get_page_number(self, request, paginator) -> int:
        return int_param(request.query_params, self.page_query_param) or 1
