//! SIGTERM / ctrl-c → a `CancellationToken` that each long-lived task takes
//! as an argument and `select!`s on, stopping only at a safe point.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or ctrl-c.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        trigger.cancel();
    });
    token
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// How a set of tasks ended: whether one panicked, and how many were still
/// running at the end of the grace period (and were aborted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Joined {
    pub panicked: bool,
    pub aborted: usize,
}

/// Waits for every task of `tasks`. A task that panics cancels `shutdown`
/// (the others stop at their next safe point). Once `shutdown` is
/// cancelled, the tasks get `grace` to finish; those still running then are
/// aborted, so a task stuck on a dead connection cannot keep the process up
/// (a scheduler once waited 17 minutes on SIGTERM with nothing left to do).
/// Everything a process keeps is in PostgreSQL, so stopping mid-task is
/// safe: what was not committed is done again by whoever comes next.
pub async fn join_within(
    tasks: &mut tokio::task::JoinSet<()>,
    shutdown: &CancellationToken,
    grace: std::time::Duration,
) -> Joined {
    let mut joined = Joined::default();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let grace_over = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            next = tasks.join_next() => match next {
                None => return joined,
                Some(Err(e)) if e.is_panic() => {
                    tracing::error!(error = %e, "a task panicked; shutting down");
                    joined.panicked = true;
                    shutdown.cancel();
                }
                Some(_) => {}
            },
            () = shutdown.cancelled(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = grace_over => {
                joined.aborted = tasks.len();
                tracing::warn!(
                    aborted = joined.aborted,
                    grace_secs = grace.as_secs_f64(),
                    "tasks still running after the shutdown grace period: aborted"
                );
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return joined;
            }
        }
    }
}

/// Runs `close` (a broker or pool close) for at most `limit`: a close that
/// waits on a peer that will never answer must not keep the process up.
pub async fn close_within(what: &str, limit: std::time::Duration, close: impl Future<Output = ()>) {
    if tokio::time::timeout(limit, close).await.is_err() {
        tracing::warn!(
            what,
            limit_secs = limit.as_secs_f64(),
            "close did not finish in time; leaving it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn tasks_that_ignore_the_shutdown_are_aborted_after_the_grace() {
        let shutdown = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let polite = shutdown.clone();
        tasks.spawn(async move { polite.cancelled().await });
        tasks.spawn(std::future::pending::<()>());
        shutdown.cancel();
        let started = tokio::time::Instant::now();
        let joined = join_within(&mut tasks, &shutdown, Duration::from_secs(10)).await;
        assert_eq!(
            joined,
            Joined {
                panicked: false,
                aborted: 1
            }
        );
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(tasks.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_cancels_the_others_which_then_stop_on_their_own() {
        let shutdown = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let polite = shutdown.clone();
        tasks.spawn(async move { polite.cancelled().await });
        tasks.spawn(async { panic!("a duty's bug") });
        let joined = join_within(&mut tasks, &shutdown, Duration::from_secs(10)).await;
        assert_eq!(
            joined,
            Joined {
                panicked: true,
                aborted: 0
            }
        );
        assert!(shutdown.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_close_that_never_ends_is_left_at_its_limit() {
        let started = tokio::time::Instant::now();
        close_within("broker", Duration::from_secs(5), std::future::pending()).await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
