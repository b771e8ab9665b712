"""The auth vocabulary the server will build on: roles order and parse, the open authorizer fits the protocol."""

from __future__ import annotations

import pytest

from tracking.auth.base import OPEN, Authorizer, Principal, Role


def test_roles_are_ordered_read_edit_manage_and_parse_any_case() -> None:
    assert Role.READ < Role.EDIT < Role.MANAGE
    assert [Role.parse(t) for t in ("read", " Edit ", "MANAGE")] == [Role.READ, Role.EDIT, Role.MANAGE]


@pytest.mark.parametrize("text", ["", "admin", "owner", "writer"])
def test_an_unknown_role_is_refused_with_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match="choose read, edit or manage"):
        Role.parse(text)


def test_the_open_authorizer_lets_everyone_do_everything_and_sees_all() -> None:
    assert isinstance(OPEN, Authorizer) and OPEN.enabled is False
    caller = OPEN.authenticate(None)
    assert caller == Principal(user="local", admin=True)
    assert OPEN.experiment_role(caller, 1) is Role.MANAGE and OPEN.model_role(caller, "m") is Role.MANAGE
    assert OPEN.readable_experiments(caller) is None and OPEN.readable_models(caller) is None
    assert OPEN.protected_aliases("m") == frozenset()
