//! Between ElastiCache's SDK types and the step's model, and nowhere else.

use aws_sdk_elasticache::types::{
    CloudWatchLogsDestinationDetails, DestinationDetails, DestinationType,
    LogDeliveryConfiguration, LogDeliveryConfigurationRequest, LogFormat, LogType,
    ReplicationGroup as SdkGroup, Tag, User as SdkUser,
};

use crate::{Endpoints, LogDelivery, Member, ObservedGroup, ObservedUser, Tags};

pub(crate) fn observed_log(config: &LogDeliveryConfiguration) -> Option<LogDelivery> {
    let status = config.status().map(|s| s.as_str()).unwrap_or_default();
    if matches!(status, "disabling" | "error") {
        return None;
    }
    let details = config.destination_details();
    let group = details
        .and_then(|d| d.cloud_watch_logs_details())
        .and_then(|c| c.log_group())
        .map(str::to_owned)
        .or_else(|| {
            details
                .and_then(|d| d.kinesis_firehose_details())
                .and_then(|k| k.delivery_stream())
                .map(|stream| format!("firehose:{stream}"))
        })?;
    Some(LogDelivery {
        log_type: config.log_type()?.as_str().to_owned(),
        group,
        format: config
            .log_format()
            .map_or("text", |f| f.as_str())
            .to_owned(),
    })
}

pub(crate) fn endpoints_of(group: &SdkGroup) -> Endpoints {
    let address = |e: Option<&aws_sdk_elasticache::types::Endpoint>| {
        e.and_then(|e| e.address()).map(str::to_owned)
    };
    let first = group.node_groups().first();
    let configuration = address(group.configuration_endpoint());
    Endpoints {
        primary: address(first.and_then(|g| g.primary_endpoint())),
        reader: address(first.and_then(|g| g.reader_endpoint())),
        port: group
            .configuration_endpoint()
            .or_else(|| first.and_then(|g| g.primary_endpoint()))
            .and_then(|e| e.port())
            .and_then(|p| u16::try_from(p).ok()),
        configuration,
    }
}

pub(crate) fn observed_group(
    group: &SdkGroup,
    arn: String,
    tags: Tags,
    member: Option<Member>,
) -> ObservedGroup {
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    let cluster_mode = group.cluster_enabled().unwrap_or(false)
        || group
            .cluster_mode()
            .is_some_and(|m| m.as_str() == "enabled");
    let mut log_delivery: Vec<LogDelivery> = group
        .log_delivery_configurations()
        .iter()
        .filter_map(observed_log)
        .collect();
    log_delivery.sort();
    ObservedGroup {
        arn,
        status: text(group.status()),
        description: text(group.description()),
        engine: group.engine().unwrap_or("redis").to_owned(),
        node_type: text(group.cache_node_type()),
        cluster_mode,
        replicas: group
            .node_groups()
            .iter()
            .map(|g| {
                u16::try_from(g.node_group_members().len().saturating_sub(1)).unwrap_or(u16::MAX)
            })
            .collect(),
        node_group_ids: group
            .node_groups()
            .iter()
            .filter_map(|g| g.node_group_id().map(str::to_owned))
            .collect(),
        multi_az: group.multi_az().is_some_and(|m| m.as_str() == "enabled"),
        automatic_failover: group
            .automatic_failover()
            .is_some_and(|f| matches!(f.as_str(), "enabled" | "enabling")),
        at_rest: group.at_rest_encryption_enabled().unwrap_or(false),
        kms_key: group.kms_key_id().map(str::to_owned),
        in_transit: group.transit_encryption_enabled().unwrap_or(false),
        transit_mode: group
            .transit_encryption_mode()
            .map(|m| m.as_str().to_owned()),
        auth_token: group.auth_token_enabled().unwrap_or(false),
        user_group_ids: group.user_group_ids().to_vec(),
        log_delivery,
        snapshot_window: text(group.snapshot_window()),
        snapshot_retention: group.snapshot_retention_limit().unwrap_or(0),
        data_tiering: group
            .data_tiering()
            .is_some_and(|d| d.as_str() == "enabled"),
        tags,
        member,
        endpoints: endpoints_of(group),
    }
}

pub(crate) fn log_request(
    log_type: &str,
    delivery: Option<&LogDelivery>,
) -> LogDeliveryConfigurationRequest {
    let request = LogDeliveryConfigurationRequest::builder().log_type(LogType::from(log_type));
    let Some(delivery) = delivery else {
        return request.enabled(false).build();
    };
    let details = DestinationDetails::builder()
        .cloud_watch_logs_details(
            CloudWatchLogsDestinationDetails::builder()
                .log_group(&delivery.group)
                .build(),
        )
        .build();
    request
        .destination_type(DestinationType::CloudWatchLogs)
        .destination_details(details)
        .log_format(LogFormat::from(delivery.format.as_str()))
        .enabled(true)
        .build()
}

pub(crate) fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn observed_user(user: &SdkUser, ours: bool) -> ObservedUser {
    ObservedUser {
        name: user.user_name().unwrap_or_default().to_owned(),
        access: user.access_string().unwrap_or_default().to_owned(),
        authentication: user
            .authentication()
            .and_then(|a| a.r#type())
            .map_or("password", |t| t.as_str())
            .to_owned(),
        status: user.status().unwrap_or_default().to_owned(),
        ours,
    }
}
