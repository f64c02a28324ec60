import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.access import require


def test_require_passes_refuses_or_hides():
    require(True)
    require(True, "never shown", hide=True)
    with pytest.raises(PermissionDenied) as refused:
        require(False, "只有社区书记可以组织团购。")
    assert str(refused.value) == "只有社区书记可以组织团购。"
    with pytest.raises(PermissionDenied):
        require(False)
    with pytest.raises(Http404):
        require(False, "not said", hide=True)
