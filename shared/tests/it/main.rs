//! shared's integration tests: the transition function against a real,
//! freshly migrated database; the topology against the real broker.

mod batches;
mod broker_version;
mod jobs;
mod planning;
mod queue;
mod quota_locks;
mod schema;
mod testkit;
