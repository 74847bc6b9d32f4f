//! Tenants and their plans. The plan table of docs/adr/0003-plans.md is the source of
//! truth for every limit; nothing else hard-codes a limit.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which quorum queue a tenant's jobs travel on (docs/adr/0001-processes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueClass {
    Low,
    Standard,
    High,
    /// GPU plans' jobs: GPU workers consume it at a higher consumer priority,
    /// CPU workers take from it only when no GPU consumer has room (none
    /// registered, or all busy): the GPU is a preference (docs/adr/0002-lattices.md).
    Gpu,
}

impl QueueClass {
    pub const ALL: [QueueClass; 4] = [
        QueueClass::Low,
        QueueClass::Standard,
        QueueClass::High,
        QueueClass::Gpu,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueClass::Low => "low",
            QueueClass::Standard => "standard",
            QueueClass::High => "high",
            QueueClass::Gpu => "gpu",
        }
    }
}

impl std::str::FromStr for QueueClass {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Starter,
    Professional,
    Enterprise,
}

/// The limits a plan grants. `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    pub price_cents_per_month: u64,
    pub max_vertices_per_job: u64,
    pub jobs_included_per_month: u64,
    pub running_at_once: u32,
    pub queued_at_most: u32,
    pub lattices: Option<u32>,
    pub time_limit: Duration,
    pub attempts: u32,
    pub queue_class: QueueClass,
    pub gpu: bool,
    /// API requests per minute for the whole tenant (rate limit, 429).
    pub requests_per_minute: u32,
    /// How far ahead a submit may schedule its job (`run_at`, `delay_secs`).
    pub schedule_horizon: Duration,
    /// Cron schedules the tenant may keep (`/v1/schedules`).
    pub schedules: u32,
    /// The longest a job may keep its full result (`result_ttl_secs` on
    /// submit); without one it keeps it `scheduler.retention_results_secs`.
    pub result_retention: Duration,
    /// Bytes of stored result parts (full answers beyond the inline caps,
    /// compressed) the tenant may keep at once.
    pub result_storage_bytes: u64,
}

impl Plan {
    /// In price order, cheapest first: [`Plan::rank`] and the guarded plan
    /// change (`db::tenants::change_plan_downward`) rely on it.
    pub const ALL: [Plan; 4] = [
        Plan::Free,
        Plan::Starter,
        Plan::Professional,
        Plan::Enterprise,
    ];

    /// The plan's place in price order: a move to a higher rank is an
    /// upgrade, which only a payment or an operator makes (issue 18).
    pub fn rank(self) -> usize {
        Plan::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Professional => "professional",
            Plan::Enterprise => "enterprise",
        }
    }

    /// The queue class a job of this plan travels on: the plan's class, or
    /// the GPU class for plans with GPU (docs/adr/0002-lattices.md).
    pub fn queue(self) -> QueueClass {
        let limits = self.limits();
        if limits.gpu {
            QueueClass::Gpu
        } else {
            limits.queue_class
        }
    }

    /// docs/adr/0003-plans.md, row by row.
    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits {
                price_cents_per_month: 0,
                max_vertices_per_job: 1_000_000,
                jobs_included_per_month: 1_000,
                running_at_once: 2,
                queued_at_most: 100,
                lattices: Some(5),
                time_limit: Duration::from_secs(10),
                attempts: 3,
                queue_class: QueueClass::Low,
                gpu: false,
                requests_per_minute: 60,
                schedule_horizon: Duration::from_secs(86_400),
                schedules: 5,
                result_retention: Duration::from_secs(7 * 86_400),
                result_storage_bytes: 100 << 20,
            },
            Plan::Starter => PlanLimits {
                price_cents_per_month: 2_900,
                max_vertices_per_job: 10_000_000,
                jobs_included_per_month: 10_000,
                running_at_once: 5,
                queued_at_most: 1_000,
                lattices: Some(50),
                time_limit: Duration::from_secs(60),
                attempts: 5,
                queue_class: QueueClass::Standard,
                gpu: false,
                requests_per_minute: 300,
                schedule_horizon: Duration::from_secs(7 * 86_400),
                schedules: 20,
                result_retention: Duration::from_secs(30 * 86_400),
                result_storage_bytes: 1 << 30,
            },
            Plan::Professional => PlanLimits {
                price_cents_per_month: 9_900,
                max_vertices_per_job: 100_000_000,
                jobs_included_per_month: 100_000,
                running_at_once: 20,
                queued_at_most: 10_000,
                lattices: Some(500),
                time_limit: Duration::from_secs(600),
                attempts: 5,
                queue_class: QueueClass::High,
                gpu: true,
                requests_per_minute: 1_200,
                schedule_horizon: Duration::from_secs(30 * 86_400),
                schedules: 100,
                result_retention: Duration::from_secs(90 * 86_400),
                result_storage_bytes: 10 << 30,
            },
            Plan::Enterprise => PlanLimits {
                price_cents_per_month: 49_900,
                max_vertices_per_job: 1_000_000_000,
                jobs_included_per_month: 1_000_000,
                running_at_once: 100,
                queued_at_most: 100_000,
                lattices: None,
                time_limit: Duration::from_secs(3_600),
                attempts: 10,
                queue_class: QueueClass::High,
                gpu: true,
                requests_per_minute: 6_000,
                schedule_horizon: Duration::from_secs(365 * 86_400),
                schedules: 1000,
                result_retention: Duration::from_secs(365 * 86_400),
                result_storage_bytes: 100 << 30,
            },
        }
    }
}

impl std::str::FromStr for Plan {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user's role inside its tenant, strongest first. Each role can do what
/// the ones below it can: viewers read, members also write (jobs, lattices),
/// admins also manage users, owners also manage owners (and, later, the plan).
/// API keys act as `Member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn at_least(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_names_round_trip() {
        for plan in Plan::ALL {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
        }
        assert!("gold".parse::<Plan>().is_err());
    }

    #[test]
    fn limits_grow_with_the_plan() {
        let caps: Vec<u64> = Plan::ALL
            .iter()
            .map(|p| p.limits().max_vertices_per_job)
            .collect();
        assert!(caps.windows(2).all(|w| w[0] < w[1]), "{caps:?}");
        let horizons: Vec<Duration> = Plan::ALL
            .iter()
            .map(|p| p.limits().schedule_horizon)
            .collect();
        assert!(horizons.windows(2).all(|w| w[0] < w[1]), "{horizons:?}");
        let retention: Vec<Duration> = Plan::ALL
            .iter()
            .map(|p| p.limits().result_retention)
            .collect();
        assert!(retention.windows(2).all(|w| w[0] <= w[1]), "{retention:?}");
        let storage: Vec<u64> = Plan::ALL
            .iter()
            .map(|p| p.limits().result_storage_bytes)
            .collect();
        assert!(storage.windows(2).all(|w| w[0] < w[1]), "{storage:?}");
        // migrations/0027's CHECK is the widest bound: no plan goes past it.
        assert!(retention.iter().all(|r| r.as_secs() <= 31_536_000));
        assert!(!Plan::Starter.limits().gpu && Plan::Professional.limits().gpu);
    }

    #[test]
    fn rank_is_price_order() {
        let mut by_price = Plan::ALL;
        by_price.sort_by_key(|p| p.limits().price_cents_per_month);
        assert_eq!(by_price, Plan::ALL);
        let ranks: Vec<usize> = Plan::ALL.iter().map(|p| p.rank()).collect();
        assert_eq!(ranks, vec![0, 1, 2, 3]);
    }

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Owner.at_least(Role::Admin) && Role::Admin.at_least(Role::Member));
        assert!(Role::Member.at_least(Role::Viewer) && !Role::Viewer.at_least(Role::Member));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }
}
