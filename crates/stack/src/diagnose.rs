//! Why an IAM token was refused, as far as reading AWS can tell: the user, the signing
//! credentials' expiry, and the stack's connect policy on the signing identity.

use crate::Stack;

/// What reading AWS says about a refused IAM login.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IamDiagnosis {
    /// Causes ruled out.
    pub ruled_out: Vec<String>,
    /// Causes found, or left because AWS could not tell.
    pub suspects: Vec<String>,
}

impl Stack {
    /// Reads what a refused IAM token can be checked against: the user, the signing
    /// credentials' expiry, and whether the signing identity has the stack's connect
    /// policy. Every read that fails becomes a suspect, not an error: this explains a
    /// failure, it must not hide it.
    pub(crate) async fn diagnose_iam(&self, user: &str) -> IamDiagnosis {
        let mut diagnosis = IamDiagnosis {
            ruled_out: vec![
                "letter case (names are lowercased)".into(),
                "user id ≠ name (they are one)".into(),
                format!("region (signed for {})", self.spec.region),
                "the serverless flag (a replication group)".into(),
            ],
            suspects: Vec::new(),
        };
        let (login, expiry, policy) = futures::join!(
            self.cluster.login_user(user),
            self.credentials_expiry(),
            self.connect_policy_attached()
        );
        let user_group = spec::names::user_group(&self.spec);
        let policy_name = spec::names::connect_policy(&self.spec);
        for finding in [
            user_finding(user, &user_group, login),
            expiry_finding(expiry),
            policy_finding(&policy_name, policy),
        ] {
            match finding {
                Ok(ruled_out) => diagnosis.ruled_out.push(ruled_out),
                Err(suspect) => diagnosis.suspects.push(suspect),
            }
        }
        diagnosis
    }

    async fn credentials_expiry(&self) -> Result<Option<std::time::SystemTime>, String> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .config
            .credentials_provider()
            .ok_or("no credentials provider")?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            format!(
                "the signing credentials could not be read: {}",
                aws_error::innermost(&e)
            )
        })?;
        Ok(credentials.expiry())
    }

    /// Whether the signing role or user has the stack's connect policy attached, and
    /// who it is (`role x`, `user y`).
    async fn connect_policy_attached(&self) -> Result<(String, bool), String> {
        self.identity().await.map_err(|e| e.to_string())?;
        let arn = self.caller.get().cloned().unwrap_or_default();
        let iam = aws_sdk_iam::Client::new(&self.config);
        let wanted = spec::names::connect_policy(&self.spec);
        let Some(found) = principal(&arn) else {
            return Err(format!(
                "the signing identity {arn} is neither a role nor a user: its policies were not checked"
            ));
        };
        let who = found.to_string();
        let attached = match found {
            Principal::Role(role) => iam
                .list_attached_role_policies()
                .role_name(role)
                .send()
                .await
                .map(|out| out.attached_policies().to_vec())
                .map_err(aws_error::aws_error("ListAttachedRolePolicies")),
            Principal::User(user) => iam
                .list_attached_user_policies()
                .user_name(user)
                .send()
                .await
                .map(|out| out.attached_policies().to_vec())
                .map_err(aws_error::aws_error("ListAttachedUserPolicies")),
        };
        let attached = attached.map_err(|e| {
            format!("whether {who} has the stack's {wanted} policy could not be read: {e}")
        })?;
        let has = attached
            .iter()
            .any(|p| p.policy_name() == Some(wanted.as_str()));
        Ok((who, has))
    }
}

/// A finding: `Ok` names what is ruled out, `Err` what is suspect.
type Finding = Result<String, String>;

fn user_finding(
    user: &str,
    user_group: &str,
    login: Result<Option<cluster::LoginUser>, cluster::ClusterError>,
) -> Finding {
    match login {
        Ok(None) => Err(format!("user {user} does not exist (apply creates it)")),
        Ok(Some(found)) if found.status != "active" => {
            Err(format!("user {user} is {}, not active", found.status))
        }
        Ok(Some(found)) if found.authentication != "iam" => Err(format!(
            "user {user} authenticates with {}, not IAM",
            found.authentication
        )),
        Ok(Some(found)) if !found.user_group_ids.iter().any(|g| g == user_group) => Err(format!(
            "user {user} is not in the stack's user group {user_group} (apply)"
        )),
        Ok(Some(_)) => Ok(format!(
            "the user (it exists, is active, authenticates with IAM and is in {user_group})"
        )),
        Err(error) => Err(format!("the user could not be read: {error}")),
    }
}

fn expiry_finding(expiry: Result<Option<std::time::SystemTime>, String>) -> Finding {
    match expiry? {
        Some(expiry) if expiry <= std::time::SystemTime::now() => {
            Err("the signing credentials have expired".into())
        }
        _ => Ok("expired signing credentials".into()),
    }
}

fn policy_finding(policy_name: &str, attached: Result<(String, bool), String>) -> Finding {
    match attached? {
        (identity, true) => Ok(format!(
            "the policy ({identity} has the stack's {policy_name} attached)"
        )),
        (identity, false) => Err(format!(
            "{identity} does not have the stack's {policy_name} policy attached: add it to outputs.attach_to_roles, or grant elasticache:Connect on the group and the user another way"
        )),
    }
}

/// The IAM principal behind a caller ARN.
enum Principal<'a> {
    Role(&'a str),
    User(&'a str),
}

impl std::fmt::Display for Principal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Role(name) => write!(f, "role {name}"),
            Principal::User(name) => write!(f, "user {name}"),
        }
    }
}

/// `arn:aws:sts::1:assumed-role/ROLE/session` and `arn:aws:iam::1:role/path/ROLE` are
/// role ROLE; `arn:aws:iam::1:user/NAME` is user NAME.
fn principal(arn: &str) -> Option<Principal<'_>> {
    let resource = arn.splitn(6, ':').nth(5)?;
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest.split('/').next().map(Principal::Role);
    }
    if let Some(rest) = resource.strip_prefix("role/") {
        return rest.rsplit('/').next().map(Principal::Role);
    }
    resource
        .strip_prefix("user/")
        .and_then(|r| r.rsplit('/').next())
        .map(Principal::User)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_name_their_role_or_user() {
        let shown = |arn| principal(arn).map(|p| p.to_string());
        assert_eq!(
            shown("arn:aws:sts::111122223333:assumed-role/deployer/ci-run-7").as_deref(),
            Some("role deployer")
        );
        assert_eq!(
            shown("arn:aws:iam::111122223333:role/service/worker").as_deref(),
            Some("role worker")
        );
        assert_eq!(
            shown("arn:aws:iam::111122223333:user/alice").as_deref(),
            Some("user alice")
        );
        assert!(shown("arn:aws:iam::111122223333:root").is_none());
    }

    #[test]
    fn each_thing_wrong_with_the_user_or_the_credentials_is_a_suspect() {
        let user = |status: &str, authentication: &str, groups: &[&str]| {
            Ok(Some(cluster::LoginUser {
                status: status.into(),
                authentication: authentication.into(),
                user_group_ids: groups.iter().map(|g| g.to_string()).collect(),
            }))
        };
        let suspect = |finding: Finding| finding.expect_err("a suspect");
        assert!(suspect(user_finding("app", "s-users", Ok(None))).contains("does not exist"));
        assert!(
            suspect(user_finding(
                "app",
                "s-users",
                user("modifying", "iam", &["s-users"])
            ))
            .contains("is modifying, not active")
        );
        assert!(
            suspect(user_finding(
                "app",
                "s-users",
                user("active", "password", &["s-users"])
            ))
            .contains("authenticates with password")
        );
        assert!(
            suspect(user_finding(
                "app",
                "s-users",
                user("active", "iam", &["other"])
            ))
            .contains("not in the stack's user group s-users")
        );
        assert!(user_finding("app", "s-users", user("active", "iam", &["s-users"])).is_ok());
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        assert!(suspect(expiry_finding(Ok(Some(past)))).contains("expired"));
        assert!(expiry_finding(Ok(None)).is_ok());
        assert!(
            suspect(policy_finding("s-connect", Ok(("role r".into(), false))))
                .contains("role r does not have the stack's s-connect policy")
        );
    }
}
