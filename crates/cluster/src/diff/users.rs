//! The users (a no-access `default` first) and the user group holding them.

use plan::{Change, Diff, ResourceId, Value};

use super::{ClusterPlan, kinds};
use crate::Observed;
use crate::model::Desired;
use crate::ops::*;

pub(super) fn users_diff(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    for user in &desired.users {
        let id = ResourceId::new(kinds::USER, &user.id);
        let Some(found) = observed.users.get(&user.id) else {
            plan.changes.push(Change::create(
                id,
                vec![
                    ("user_name", Value::from(&user.name)),
                    ("access_string", Value::from(&user.access)),
                    ("authentication", Value::from(user.authentication.as_str())),
                    (
                        "password",
                        match user.authentication {
                            crate::Authentication::Password { .. } => Value::Sensitive,
                            _ => Value::from("none"),
                        },
                    ),
                ],
            ));
            plan.ops.push(Op::CreateUser(user.clone()));
            continue;
        };
        if !found.ours {
            plan.warnings.push(format!(
                "user {} exists without this stack's tag: another stack or person may use it too",
                user.id
            ));
        }
        // User name and authentication type cannot change: a new user is created.
        let change = Diff::new(id)
            .replacing(
                "user_name",
                Value::from(&found.name),
                Value::from(&user.name),
            )
            .replacing(
                "authentication",
                Value::from(&found.authentication),
                Value::from(user.authentication.as_str()),
            )
            .attribute(
                "access_string",
                Value::from(&found.access),
                Value::from(&user.access),
            )
            .finish();
        if change.action == plan::Action::Replace {
            plan.ops.push(Op::DeleteUser {
                id: user.id.clone(),
            });
            plan.ops.push(Op::CreateUser(user.clone()));
        } else if found.access != user.access {
            plan.ops.push(Op::ModifyUser {
                id: user.id.clone(),
                access: user.access.clone(),
            });
        }
        plan.changes.push(change);
    }
}

pub(super) fn user_group_diff(plan: &mut ClusterPlan, desired: &Desired, observed: &Observed) {
    let Some(group) = &desired.user_group else {
        return;
    };
    let id = ResourceId::new(kinds::USER_GROUP, &group.id);
    let Some(found) = &observed.user_group else {
        plan.changes.push(Change::create(
            id,
            vec![
                ("engine", Value::from(group.engine)),
                ("user_ids", Value::set(group.user_ids.iter().cloned())),
            ],
        ));
        plan.ops.push(Op::CreateUserGroup(group.clone()));
        return;
    };
    plan.changes.push(
        Diff::new(id)
            .attribute(
                "user_ids",
                Value::set(found.user_ids.iter().cloned()),
                Value::set(group.user_ids.iter().cloned()),
            )
            .finish(),
    );
    let add: Vec<String> = group
        .user_ids
        .difference(&found.user_ids)
        .cloned()
        .collect();
    let remove: Vec<String> = found
        .user_ids
        .difference(&group.user_ids)
        .cloned()
        .collect();
    if !add.is_empty() || !remove.is_empty() {
        plan.ops.push(Op::ModifyUserGroup {
            id: group.id.clone(),
            add,
            remove,
        });
    }
}
