//! The accept loop: each connection's request head decides its path — event streams on
//! the lean path of [`crate::stream_conn`], everything else through hyper — and shutdown
//! stops accepting, ends the streams and drains the rest.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::rewind::Rewind;
use crate::stream_conn::{self, Head};

/// How long a hyper connection may take to finish its requests once shutdown began.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then drains connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(());
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        connections.spawn(connection(tcp, peer, router.clone(), stop_rx.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(());
    connections.close();
    connections.wait().await;
    Ok(())
}

/// One connection, from its first byte to its close.
async fn connection(
    mut tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    stop: watch::Receiver<()>,
) {
    match stream_conn::read_head(&mut tcp).await {
        Head::Gone => {}
        Head::Stream(req) => stream_conn::serve_stream(tcp, req, router, peer, stop).await,
        Head::Other(read) => through_hyper(Rewind::new(read, tcp), peer, router, stop).await,
    }
}

/// HTTP/1.1 through hyper, with the client's address for the handlers.
async fn through_hyper(
    io: Rewind<TcpStream>,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<()>,
) {
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move { router.oneshot(req.map(Body::new)).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(DRAIN, conn).await;
}
