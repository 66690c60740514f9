/*!
The Open Service Broker front end of the stack library (`elasticache-broker`): platforms
such as Cloud Foundry ask it for ElastiCache stacks per service instance.

It owns the broker's configuration ([`config`]: catalog, plans as partial specs, the
platform's shared settings, where credentials come from), the catalog it publishes
([`catalog`]) and the HTTP rules of OSB API v2.17 every request passes ([`http`]: basic
auth in constant time, the API version, the request identity). It does not own stacks:
instances and bindings will go through `stack`, as every front end does.

Instances (provision, fetch, update, deprovision, `last_operation`) and bindings (bind,
fetch, unbind, `last_operation`; one RBAC or IAM user per binding, [`binding`]) are
kept in AWS ([`record`]) and brought about in the background by the stack's apply or
destroy ([`operations`]).
*/
#![deny(missing_docs)]

pub mod binding;
mod bindings;
pub mod catalog;
pub mod config;
pub mod http;
pub mod instance;
mod instances;
pub mod operations;
pub mod record;
mod restore;
mod updates;

pub use config::{BrokerConfig, parse};
pub use http::{BasicAuth, Broker, router};
