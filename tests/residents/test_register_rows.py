"""A resident's row in the register, written out in Python (residents/templatetags/
register_rows.py): every value escaped, the masked phone and ID only, the call form with its
token where the user may call, the marks still running."""

from types import SimpleNamespace

from django.template import Context, Template

from residents.registry import ResidentMark

ROW = Template("{% load register_rows %}{% resident_row r %}")


def resident(**over):
    tags = [SimpleNamespace(category_label="<独居老人>")]
    values = {
        "name": '<script>alert("x")</script>',
        "gender_label": "女",
        "age_label": "67岁",
        "compound": SimpleNamespace(name="幸福 & 安康"),
        "household": SimpleNamespace(address="3号楼2单元501"),
        "phone": "13812345678",
        "masked_phone": "138****5678",
        "id_last4": "123X",
        "masked_national_id": "**************123X",
        "tags": SimpleNamespace(all=lambda: tags),
        "marks": [
            ResidentMark(kind="control", label="临时管控", detail='池 "B7"'),
            ResidentMark(kind="quarantine", label="密接", detail="已解除", ended=True),
        ],
        "links": {
            "detail": "/residents/7/",
            "household": "/residents/households/3/?a=1&b=2",
            "call": "/residents/7/call/",
        },
    }
    return SimpleNamespace(**{**values, **over})


def render(r, **context):
    return ROW.render(Context({"r": r, "call_label": "拨打", "csrf_token": "tok", **context}))


def test_a_row_escapes_its_values_and_shows_only_masked_numbers():
    html = render(resident(), may_call=True)
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "幸福 &amp; 安康 3号楼2单元501" in html
    assert 'href="/residents/households/3/?a=1&amp;b=2"' in html
    assert "13812345678" not in html and "138****5678" in html and "**************123X" in html
    assert "<span>女 · 67岁</span>" in html
    assert '<span class="tag">&lt;独居老人&gt;</span>' in html
    # The running mark as a badge with its detail; the ended one not at all.
    assert '<span class="badge status-sealed" title="池 &quot;B7&quot;">临时管控</span>' in html
    assert "密接" not in html
    assert (
        '<form class="call-form" method="post" action="/residents/7/call/">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="tok">'
        '<button class="call" type="submit">拨打</button></form>'
    ) in html


def test_no_call_form_without_the_right_or_a_phone_and_no_age_without_a_birth_date():
    assert "call-form" not in render(resident(), may_call=False)
    bare = render(resident(phone="", id_last4="", age_label="", marks=[]), may_call=True)
    assert "call-form" not in bare and "mono" not in bare and "badge" not in bare
    assert "<span>女</span>" in bare
