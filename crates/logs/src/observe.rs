//! Reading what exists.

use std::collections::{BTreeMap, BTreeSet};

use aws_error::aws_error;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use futures::future::try_join_all;

use crate::{Desired, Logs, LogsError, Observed, ObservedLogGroup};

impl Logs {
    /// Observes every log group of the stack's names, wanted or not: one listing per
    /// folder the names share (the default names share `/aws/elasticache/<stack>/`),
    /// then each found group's tags, all concurrently.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, LogsError> {
        let names: BTreeSet<&str> = desired.all_names().collect();
        let listings = listing_prefixes(&names).into_iter().map(|p| self.list(p));
        let listed: Vec<LogGroup> = try_join_all(listings)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let ours = listed.iter().filter_map(|group| {
            let name = group.log_group_name()?;
            names.contains(name).then_some((name, group))
        });
        let unique: BTreeMap<&str, &LogGroup> = ours.collect();
        let found = try_join_all(
            unique
                .into_iter()
                .map(|(name, group)| self.read(name, group)),
        );
        Ok(Observed {
            groups: found.await?.into_iter().collect(),
        })
    }

    async fn list(&self, prefix: String) -> Result<Vec<LogGroup>, LogsError> {
        let mut groups = Vec::new();
        let mut pages = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("DescribeLogGroups"))?;
            groups.extend(page.log_groups().iter().cloned());
        }
        Ok(groups)
    }

    async fn read(
        &self,
        name: &str,
        group: &LogGroup,
    ) -> Result<(String, ObservedLogGroup), LogsError> {
        let arn = group
            .log_group_arn()
            .map(str::to_owned)
            .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            .unwrap_or_default();
        let tags = self
            .client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(aws_error("ListTagsForResource"))?;
        Ok((
            name.to_owned(),
            ObservedLogGroup {
                retention_days: group.retention_in_days(),
                kms_key: group.kms_key_id().map(str::to_owned),
                tags: tags
                    .tags()
                    .map(|t| t.clone().into_iter().collect())
                    .unwrap_or_default(),
                arn,
            },
        ))
    }
}

/// The prefixes that list every name: a folder (up to its last `/`) that two or more
/// names share, and each other name by itself, so a listing never reaches beyond
/// what the stack's names have in common.
fn listing_prefixes(names: &BTreeSet<&str>) -> BTreeSet<String> {
    let folder = |name: &str| name.rfind('/').map(|at| name[..=at].to_owned());
    let mut by_folder: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
    for name in names {
        by_folder.entry(folder(name)).or_default().push(name);
    }
    let mut prefixes = BTreeSet::new();
    for (folder, members) in by_folder {
        match folder {
            Some(folder) if members.len() > 1 && folder.len() > 1 => {
                prefixes.insert(folder);
            }
            _ => prefixes.extend(members.iter().map(|name| (*name).to_owned())),
        }
    }
    prefixes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sharing_a_folder_are_listed_once() {
        let names = BTreeSet::from([
            "/aws/elasticache/demo/slow-log",
            "/aws/elasticache/demo/engine-log",
            "/teams/orders/cache-slow",
            "top-level",
        ]);
        assert_eq!(
            listing_prefixes(&names),
            BTreeSet::from([
                "/aws/elasticache/demo/".to_owned(),
                "/teams/orders/cache-slow".to_owned(),
                "top-level".to_owned(),
            ])
        );
    }

    #[test]
    fn names_at_the_root_are_not_listed_by_the_root() {
        let names = BTreeSet::from(["/slow", "/engine"]);
        assert_eq!(
            listing_prefixes(&names),
            BTreeSet::from(["/engine".to_owned(), "/slow".to_owned()])
        );
    }
}
