"""ModifyUser and user groups."""

from __future__ import annotations

from typing import Any

from .conftest import wait_for
from .helpers import error_code

PASSWORD = "p" * 16 + "-one"
OTHER = "q" * 16 + "-two"


def make_users(client: Any, prefix: str) -> None:
    client.create_user(UserId=f"{prefix}-default", UserName="default", Engine="valkey",
                       AccessString="off -@all", NoPasswordRequired=True)
    client.create_user(UserId=f"{prefix}-app", UserName="app", Engine="valkey",
                       AccessString="on ~app:* +@all", Passwords=[PASSWORD])


def user_group_status(client: Any, group_id: str) -> str:
    found = client.describe_user_groups(UserGroupId=group_id)["UserGroups"][0]
    return found["Status"]


def test_a_user_group_is_created_then_active_and_knows_its_users(client: Any) -> None:
    make_users(client, "u1")
    created = client.create_user_group(UserGroupId="g1", Engine="valkey",
                                       UserIds=["u1-default", "u1-app"])
    assert created["Status"] == "creating"
    assert wait_for(lambda: user_group_status(client, "g1"), "active") == "active"
    group = client.describe_user_groups(UserGroupId="g1")["UserGroups"][0]
    assert sorted(group["UserIds"]) == ["u1-app", "u1-default"]
    assert group["ARN"].endswith(":usergroup:g1")
    assert client.describe_users(UserId="u1-app")["Users"][0]["UserGroupIds"] == ["g1"]


def test_a_user_group_needs_a_default_user_unique_names_and_known_users(client: Any) -> None:
    make_users(client, "u2")
    client.create_user(UserId="u2-app-again", UserName="app", Engine="valkey",
                       AccessString="on ~* +@all", Passwords=[PASSWORD])
    create = client.create_user_group
    assert error_code(create, UserGroupId="g", Engine="valkey", UserIds=["u2-app"]) == "DefaultUserRequired"
    assert error_code(create, UserGroupId="g", Engine="valkey",
                      UserIds=["u2-default", "u2-app", "u2-app-again"]) == "DuplicateUserName"
    assert error_code(create, UserGroupId="g", Engine="valkey", UserIds=["u2-default", "nobody"]) == "UserNotFound"
    assert error_code(client.describe_user_groups, UserGroupId="missing") == "UserGroupNotFound"


def test_modify_user_group_shows_pending_changes_then_applies_them(client: Any) -> None:
    make_users(client, "u3")
    client.create_user_group(UserGroupId="g3", Engine="valkey", UserIds=["u3-default"])
    wait_for(lambda: user_group_status(client, "g3"), "active")
    modified = client.modify_user_group(UserGroupId="g3", UserIdsToAdd=["u3-app"])
    assert modified["Status"] == "modifying"
    assert modified["PendingChanges"]["UserIdsToAdd"] == ["u3-app"]
    assert error_code(client.modify_user_group, UserGroupId="g3",
                      UserIdsToRemove=["u3-app"]) == "InvalidUserGroupState"
    wait_for(lambda: user_group_status(client, "g3"), "active")
    group = client.describe_user_groups(UserGroupId="g3")["UserGroups"][0]
    assert sorted(group["UserIds"]) == ["u3-app", "u3-default"]
    assert "PendingChanges" not in group
    assert error_code(client.modify_user_group, UserGroupId="g3",
                      UserIdsToRemove=["u3-default"]) == "DefaultUserRequired"


def test_deleting_a_user_group_takes_time_and_then_it_is_gone(client: Any) -> None:
    make_users(client, "u4")
    client.create_user_group(UserGroupId="g4", Engine="valkey", UserIds=["u4-default"])
    wait_for(lambda: user_group_status(client, "g4"), "active")
    assert client.delete_user_group(UserGroupId="g4")["Status"] == "deleting"

    def gone() -> bool:
        return not any(g["UserGroupId"] == "g4" for g in client.describe_user_groups()["UserGroups"])

    assert wait_for(gone, True)


def test_modify_user_replaces_passwords_at_most_two_and_goes_modifying(client: Any) -> None:
    make_users(client, "u5")
    assert error_code(client.modify_user, UserId="u5-app",
                      Passwords=[PASSWORD, OTHER, "r" * 20]) == "InvalidParameterValue"
    assert error_code(client.modify_user, UserId="u5-app", Passwords=["short"]) == "InvalidParameterValue"
    modified = client.modify_user(UserId="u5-app", Passwords=[PASSWORD, OTHER],
                                  AccessString="on ~app:* +@read")
    assert modified["Status"] == "modifying"
    assert error_code(client.modify_user, UserId="u5-app", AccessString="on ~* +@all") == "InvalidUserState"

    def user() -> dict[str, Any]:
        return client.describe_users(UserId="u5-app")["Users"][0]

    wait_for(lambda: user()["Status"], "active")
    assert user()["Authentication"] == {"Type": "password", "PasswordCount": 2}
    assert user()["AccessString"] == "on ~app:* +@read"
    assert error_code(client.modify_user, UserId="nobody", AccessString="on") == "UserNotFound"


def test_an_action_the_emulator_lacks_gets_an_api_error_not_an_html_page(client: Any) -> None:
    assert error_code(client.describe_global_replication_groups) == "InvalidAction"
