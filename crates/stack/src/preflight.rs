//! What a spec asks for that only AWS can confirm: the region's availability zones and
//! the engine versions ElastiCache offers there. Checked at plan, so apply, which
//! applies exactly the plan, never writes before them.
//!
//! Only what the plan would create or change is checked: a converged stack's zones and
//! version exist (its resources stand in them), so a converged plan makes no extra call.
//! Whether a node type is offered in the region is not asked: no ElastiCache API answers
//! it for on-demand nodes (`DescribeReservedCacheNodesOfferings` lists reserved offerings
//! only, which would refuse types that are sold), so node types are checked offline.

use aws_error::aws_error;
use plan::{Action, Plan};
use spec::{EngineName, Spec, SpecError};

use crate::StackError;

/// Plan changes whose resources need the region's zones and engine versions.
struct Needs {
    zones: bool,
    engine_version: bool,
}

fn needs(plan: &Plan) -> Needs {
    let changes = plan.changes.iter().filter(|c| c.is_change());
    let mut needs = Needs {
        zones: false,
        engine_version: false,
    };
    for change in changes {
        let kind = change.resource.kind.as_str();
        if kind == network::kinds::SUBNET && change.action == Action::Create {
            needs.zones = true;
        }
        let version_moves = change.attributes.iter().any(|a| a.name == "engine_version");
        if kind == cluster::kinds::REPLICATION_GROUP && version_moves {
            needs.engine_version = true;
        }
    }
    needs
}

/// Checks what `plan` would create against what the region has.
pub(crate) async fn check(
    spec: &Spec,
    config: &aws_config::SdkConfig,
    plan: &Plan,
) -> Result<(), StackError> {
    let needs = needs(plan);
    let (zones, versions) = futures::join!(
        async {
            match needs.zones {
                true => zone_problems(spec, config).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match needs.engine_version {
                true => version_problems(spec, config).await,
                false => Ok(Vec::new()),
            }
        }
    );
    let problems: Vec<SpecError> = zones?.into_iter().chain(versions?).collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(StackError::NotInRegion {
        region: spec.region.clone(),
        problems,
    })
}

async fn zone_problems(
    spec: &Spec,
    config: &aws_config::SdkConfig,
) -> Result<Vec<SpecError>, StackError> {
    let Some(create) = &spec.network.create else {
        return Ok(Vec::new());
    };
    let answer = aws_sdk_ec2::Client::new(config)
        .describe_availability_zones()
        .send()
        .await
        .map_err(aws_error("DescribeAvailabilityZones"))?;
    let offered: Vec<&str> = answer
        .availability_zones()
        .iter()
        .filter(|zone| zone.state().is_none_or(|s| s.as_str() == "available"))
        .filter_map(|zone| zone.zone_name())
        .collect();
    if offered.is_empty() {
        return Ok(vec![problem(
            "region",
            format!(
                "`{}` has no availability zones this account can use: it is not an AWS region, or not one enabled for the account",
                spec.region
            ),
        )]);
    }
    let missing = create
        .subnets
        .iter()
        .enumerate()
        .filter(|(_, subnet)| !offered.contains(&subnet.availability_zone.as_str()))
        .map(|(i, subnet)| {
            problem(
                &format!("network.create.subnets[{i}].availability_zone"),
                format!(
                    "`{}` is not an available zone of {} (zones: {})",
                    subnet.availability_zone,
                    spec.region,
                    offered.join(", ")
                ),
            )
        });
    Ok(missing.collect())
}

async fn version_problems(
    spec: &Spec,
    config: &aws_config::SdkConfig,
) -> Result<Vec<SpecError>, StackError> {
    let engine = match spec.engine.name {
        EngineName::Valkey => "valkey",
        EngineName::Redis => "redis",
    };
    let pages = aws_sdk_elasticache::Client::new(config)
        .describe_cache_engine_versions()
        .engine(engine)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut offered = Vec::new();
    for version in pages {
        let version = version.map_err(aws_error("DescribeCacheEngineVersions"))?;
        offered.extend(version.engine_version().map(str::to_owned));
    }
    let wanted = spec.engine.version;
    let matches = offered
        .iter()
        .filter_map(|v| v.parse::<spec::EngineVersion>().ok())
        .any(|v| same_release(v, wanted));
    if matches {
        return Ok(Vec::new());
    }
    Ok(vec![problem(
        "engine.version",
        format!(
            "ElastiCache offers no {engine} {wanted} in {} (it offers {})",
            spec.region,
            offered.join(", ")
        ),
    )])
}

/// ElastiCache lists `7.1` and `6.2` for releases a spec may name as `7.1` or `6.2.6`
/// (the patch is the service's to choose), and `4.0.10` where the patch matters.
fn same_release(offered: spec::EngineVersion, wanted: spec::EngineVersion) -> bool {
    let patches_agree = match (offered.patch, wanted.patch) {
        (Some(offered), Some(wanted)) => offered == wanted,
        _ => true,
    };
    offered.major == wanted.major && offered.minor == wanted.minor && patches_agree
}

fn problem(path: &str, message: String) -> SpecError {
    SpecError {
        path: path.to_owned(),
        line: None,
        column: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::same_release;
    use spec::EngineVersion;

    #[test]
    fn a_release_matches_with_or_without_its_patch() {
        let v = |text: &str| text.parse::<EngineVersion>().expect("a version");
        assert!(same_release(v("7.1"), v("7.1")));
        assert!(same_release(v("6.2"), v("6.2.6")));
        assert!(same_release(v("4.0.10"), v("4.0.10")));
        assert!(!same_release(v("4.0.10"), v("4.0.9")));
        assert!(!same_release(v("8.0"), v("99.0")));
    }
}
