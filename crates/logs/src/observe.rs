//! Reading what exists.

use aws_error::aws_error;
use futures::future::try_join_all;

use crate::{Desired, Logs, LogsError, Observed, ObservedLogGroup};

impl Logs {
    /// Observes every log group of the stack's names, wanted or not, concurrently.
    pub async fn observe(&self, desired: &Desired) -> Result<Observed, LogsError> {
        let lookups = desired.all_names().map(|name| self.find(name));
        let found = try_join_all(lookups).await?;
        Ok(Observed {
            groups: found.into_iter().flatten().collect(),
        })
    }

    async fn find(&self, name: &str) -> Result<Option<(String, ObservedLogGroup)>, LogsError> {
        let output = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(aws_error("DescribeLogGroups"))?;
        let Some(group) = output
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        else {
            return Ok(None);
        };
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
        Ok(Some((
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
        )))
    }
}
