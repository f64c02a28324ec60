"""Where a user sends from (messaging.places.place_of_user): read once per user object, as
its scope is, and read again once the postings changed (issue 24: the compose page and its
services asked for it twice a request, a query each)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from compounds.services import posting_add, posting_remove
from messaging.places import place_of_user


def test_read_once_per_request_and_again_after_the_postings_change(
    secretary_a, community_a, community_b
):
    first = place_of_user(secretary_a)
    assert first.community_id == community_a.pk
    with CaptureQueriesContext(connection) as again:
        assert place_of_user(secretary_a) == first
    assert again.captured_queries == []
    # Posted to a second community: no single place to send from any more.
    posting_add(user=secretary_a, place=community_b)
    assert place_of_user(secretary_a).community_id is None
    posting_remove(user=secretary_a, place=community_b)
    assert place_of_user(secretary_a) == first
