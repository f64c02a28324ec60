"""One way to write a person's name: family name first, the user name when there is none."""

from accounts.models import User


def test_full_name_is_the_display_name_family_name_first():
    user = User(username="zhaogl", last_name="赵", first_name="桂兰")
    assert user.display_name == user.get_full_name() == str(user) == "赵桂兰"


def test_a_user_without_a_name_is_shown_by_user_name():
    user = User(username="zhaogl")
    assert user.display_name == user.get_full_name() == "zhaogl"
