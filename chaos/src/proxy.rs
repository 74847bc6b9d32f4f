//! A TCP fault proxy: listens on 127.0.0.1:<free port>, forwards every
//! connection to one target, and can be switched at run time between
//! faults. We have no `tc netem` here (no root, shared servers), so the
//! faults are made in user space, between the fleet and each server.
//!
//! A mode applies to new connections and to those already open, because
//! the processes under test keep pooled connections: a fault that only hit
//! new connections would never reach them.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes as they come.
    Pass,
    /// Each chunk towards the target waits this long first: every round trip
    /// gains the delay, the bytes still arrive in order.
    Delay(Duration),
    /// Accept, then close cleanly (FIN); open connections are closed too.
    Drop,
    /// Accept, then reset (RST, `SO_LINGER` 0); open connections are reset too.
    Reset,
    /// Accept and forward nothing, in either direction, until the mode
    /// changes: like a network path that loses every packet, where TCP's
    /// retransmissions deliver the bytes once it heals.
    Blackhole,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `target`, in `Pass` mode.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (mode, watching) = watch::channel(Mode::Pass);
        let accept = tokio::spawn(accept_loop(listener, target, watching));
        Ok(Self { addr, mode, accept })
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
        tracing::info!(proxy = %self.addr, ?mode, "fault proxy mode");
    }

    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, mode: watch::Receiver<Mode>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, say: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = client.set_nodelay(true);
        tokio::spawn(connection(client, target, mode.clone()));
    }
}

/// One proxied connection, from accept to close.
async fn connection(mut client: TcpStream, target: SocketAddr, mut mode: watch::Receiver<Mode>) {
    // Blackhole: accepted, but the target is not even dialled until it heals.
    if let Err(how) = settle(&mut mode).await {
        close(&client, how);
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return; // the target is down: the client sees a close
    };
    let _ = upstream.set_nodelay(true);
    let how = {
        let (mut cr, mut cw) = client.split();
        let (mut ur, mut uw) = upstream.split();
        let mut watch_kill = mode.clone();
        tokio::select! {
            _ = pump(&mut cr, &mut uw, mode.clone(), true) => Mode::Drop,
            _ = pump(&mut ur, &mut cw, mode.clone(), false) => Mode::Drop,
            how = killed(&mut watch_kill) => how,
        }
    };
    close(&client, how);
    close(&upstream, how);
}

/// Dropping the stream after this sends a FIN, or an RST for `Reset`.
fn close(stream: &TcpStream, how: Mode) {
    if how == Mode::Reset {
        let _ = stream.set_zero_linger();
    }
}

/// Waits while the mode is `Blackhole`; `Err(mode)` when the connection must
/// die (`Drop` or `Reset`), `Ok(delay)` when bytes may flow.
async fn settle(mode: &mut watch::Receiver<Mode>) -> Result<Option<Duration>, Mode> {
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Pass => return Ok(None),
            Mode::Delay(d) => return Ok(Some(d)),
            Mode::Drop | Mode::Reset => return Err(current),
            Mode::Blackhole => {
                if mode.changed().await.is_err() {
                    return Err(Mode::Drop);
                }
            }
        }
    }
}

/// Resolves when the mode turns to `Drop` or `Reset`.
async fn killed(mode: &mut watch::Receiver<Mode>) -> Mode {
    loop {
        let current = *mode.borrow_and_update();
        if matches!(current, Mode::Drop | Mode::Reset) {
            return current;
        }
        if mode.changed().await.is_err() {
            return Mode::Drop;
        }
    }
}

/// Copies one direction, consulting the mode before each chunk.
async fn pump<R, W>(from: &mut R, to: &mut W, mut mode: watch::Receiver<Mode>, towards_target: bool)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        match settle(&mut mode).await {
            Err(_) => return,
            Ok(Some(delay)) if towards_target => tokio::time::sleep(delay).await,
            Ok(_) => {}
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An echo server on 127.0.0.1:0.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg).await?;
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).await?;
        Ok(back)
    }

    const WITHIN: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn pass_forwards_both_ways() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        let back = tokio::time::timeout(WITHIN, round_trip(&mut s, b"hello"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, b"hello");
    }

    #[tokio::test]
    async fn delay_adds_the_delay_to_each_round_trip() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut s, b"warm").await.unwrap();
        proxy.set(Mode::Delay(Duration::from_millis(150)));
        let started = Instant::now();
        let back = round_trip(&mut s, b"slow").await.unwrap();
        assert_eq!(back, b"slow");
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
        proxy.set(Mode::Pass);
        let started = Instant::now();
        round_trip(&mut s, b"fast").await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn drop_closes_new_and_open_connections_cleanly() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut open = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut open, b"hi").await.unwrap();
        proxy.set(Mode::Drop);
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(WITHIN, open.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(n.unwrap(), 0, "the open connection sees a FIN");
        let mut fresh = TcpStream::connect(proxy.addr).await.unwrap();
        let n = tokio::time::timeout(WITHIN, fresh.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(n.unwrap(), 0, "a new connection is accepted then closed");
    }

    #[tokio::test]
    async fn reset_resets_new_and_open_connections() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut open = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut open, b"hi").await.unwrap();
        proxy.set(Mode::Reset);
        let mut byte = [0u8; 1];
        let err = tokio::time::timeout(WITHIN, open.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(err.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
        let mut fresh = TcpStream::connect(proxy.addr).await.unwrap();
        let err = tokio::time::timeout(WITHIN, fresh.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(err.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    }

    #[tokio::test]
    async fn blackhole_forwards_nothing_until_healed() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut open = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut open, b"hi").await.unwrap();
        proxy.set(Mode::Blackhole);
        let mut fresh = TcpStream::connect(proxy.addr).await.unwrap();
        for s in [&mut open, &mut fresh] {
            s.write_all(b"lost?").await.unwrap();
            let mut back = [0u8; 5];
            // Nothing comes back while the hole is open: the read times out.
            let stalled =
                tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut back)).await;
            assert!(stalled.is_err(), "bytes crossed a blackhole");
        }
        proxy.set(Mode::Pass);
        for s in [&mut open, &mut fresh] {
            let mut back = [0u8; 5];
            tokio::time::timeout(WITHIN, s.read_exact(&mut back))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&back, b"lost?", "held bytes arrive once healed");
        }
    }
}
