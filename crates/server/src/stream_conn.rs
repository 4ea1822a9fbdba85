//! Event streams on a lean HTTP/1.1 path. A stream connection lives for hours and there
//! are thousands of them; hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for
//! every HTTP/1 connection's lifetime, more than an idle stream's whole budget. So the
//! accept loop reads the request head into a small buffer; a `GET` of an event stream is
//! answered by the same router, and its response is written straight onto the socket with
//! chunked encoding. Everything else goes to hyper with the bytes read so far.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::response::Parts;
use axum::http::{HeaderName, HeaderValue, Method, Request, Version};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::WriteHalf;
use tokio::sync::watch;
use tower::ServiceExt;

/// First read of a new connection; grown in steps of this size while the head is partial.
const READ_STEP: usize = 1024;
/// A head still partial at this size goes to hyper, which knows what to do with it.
const MAX_HEAD: usize = 8 * 1024;
/// How long a new connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers parsed on the lean path; a request with more goes to hyper.
const MAX_HEADERS: usize = 48;

/// What the first bytes of a connection asked for.
pub enum Head {
    /// A `GET` of an event stream, parsed: answered by [`serve_stream`].
    Stream(Box<Request<Body>>),
    /// Anything else, with the bytes read so far: for hyper.
    Other(Bytes),
    /// The client left, or sent no complete head in time.
    Gone,
}

/// Reads the request head of a new connection and decides where it goes.
pub async fn read_head(tcp: &mut TcpStream) -> Head {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut buf = BytesMut::with_capacity(READ_STEP);
    loop {
        match tokio::time::timeout_at(deadline, tcp.read_buf(&mut buf)).await {
            Ok(Ok(0)) if buf.is_empty() => return Head::Gone,
            Ok(Ok(0)) => return Head::Other(buf.freeze()),
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => return Head::Gone,
        }
        match parse(&buf) {
            Parsed::Stream(req) => return Head::Stream(req),
            Parsed::Other => return Head::Other(buf.freeze()),
            Parsed::Partial if buf.len() < MAX_HEAD => buf.reserve(READ_STEP),
            Parsed::Partial => return Head::Other(buf.freeze()),
        }
    }
}

enum Parsed {
    Stream(Box<Request<Body>>),
    Other,
    Partial,
}

/// A complete head that is a plain `GET` of a stream path, as a request for the router.
fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(len)) => len,
        Err(_) => return Parsed::Other,
    };
    let (Some("GET"), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Parsed::Other;
    };
    // Bytes past the head (a body, a pipelined request) and anything that changes how the
    // connection is used are hyper's business.
    if len != buf.len() || !is_stream_path(target.split('?').next().unwrap_or(target)) {
        return Parsed::Other;
    }
    let mut builder = Request::builder()
        .method(Method::GET)
        .uri(target)
        .version(Version::HTTP_11);
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "upgrade" | "expect"
        ) {
            return Parsed::Other;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return Parsed::Other;
        };
        builder = builder.header(name, value);
    }
    match builder.body(Body::empty()) {
        Ok(req) => Parsed::Stream(Box::new(req)),
        Err(_) => Parsed::Other,
    }
}

/// `/api/v1/events/stream` and `/api/v1/deployments/{id}/logs/stream`.
fn is_stream_path(path: &str) -> bool {
    path == "/api/v1/events/stream"
        || path
            .strip_prefix("/api/v1/deployments/")
            .and_then(|rest| rest.strip_suffix("/logs/stream"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Answers a stream request through `router` and writes the response until the body
/// ends, the client leaves or `stop` fires (then the stream ends cleanly and the client
/// resumes elsewhere with `Last-Event-ID`). The connection is closed afterwards.
pub async fn serve_stream(
    mut tcp: TcpStream,
    req: Box<Request<Body>>,
    router: Router,
    peer: SocketAddr,
    mut stop: watch::Receiver<()>,
) {
    let mut req = *req;
    req.extensions_mut().insert(ConnectInfo(peer));
    let Ok(resp) = router.oneshot(req).await;
    let (parts, mut body) = resp.into_parts();
    let length = http_body::Body::size_hint(&body).exact();
    if tcp.write_all(&response_head(&parts, length)).await.is_err() {
        return;
    }
    let chunked = length.is_none();
    let (mut rd, mut wr) = tcp.split();
    let mut probe = [0u8; 16];
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                        && write_data(&mut wr, data, chunked).await.is_err()
                    {
                        return;
                    }
                }
                // Cut short without the last chunk: the client sees the stream broke.
                Some(Err(_)) => return,
                None => break,
            },
            read = rd.read(&mut probe) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return;
                }
            }
            _ = stop.changed() => break,
        }
    }
    if chunked {
        let _ = wr.write_all(b"0\r\n\r\n").await;
    }
    let _ = wr.shutdown().await;
}

/// Status line and headers; `content-length` when the body's size is known, chunked
/// otherwise; always `connection: close`.
fn response_head(parts: &Parts, length: Option<u64>) -> Vec<u8> {
    let mut h = Vec::with_capacity(256);
    let status = parts.status;
    h.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING || name == CONTENT_LENGTH {
            continue;
        }
        h.extend_from_slice(name.as_str().as_bytes());
        h.extend_from_slice(b": ");
        h.extend_from_slice(value.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(CONTENT_TYPE) && length.is_some_and(|n| n > 0) {
        h.extend_from_slice(b"content-type: application/octet-stream\r\n");
    }
    match length {
        Some(n) => h.extend_from_slice(format!("content-length: {n}\r\n").as_bytes()),
        None => h.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    h.extend_from_slice(format!("date: {date}\r\nconnection: close\r\n\r\n").as_bytes());
    h
}

/// One piece of the body: as a chunk, or as it is when the length was announced.
async fn write_data(wr: &mut WriteHalf<'_>, data: Bytes, chunked: bool) -> io::Result<()> {
    if !chunked {
        return wr.write_all(&data).await;
    }
    let size = format!("{:x}\r\n", data.len());
    let mut out = Buf::chain(size.as_bytes(), data).chain(&b"\r\n"[..]);
    wr.write_all_buf(&mut out).await
}

#[cfg(test)]
mod tests {
    use super::{Parsed, is_stream_path, parse};

    #[test]
    fn only_the_two_stream_paths_take_the_lean_path() {
        assert!(is_stream_path("/api/v1/events/stream"));
        assert!(is_stream_path("/api/v1/deployments/abc/logs/stream"));
        assert!(!is_stream_path("/api/v1/deployments//logs/stream"));
        assert!(!is_stream_path("/api/v1/deployments/a/b/logs/stream"));
        assert!(!is_stream_path("/api/v1/deployments/abc/logs"));
        assert!(!is_stream_path("/api/v1/events/ticket"));
    }

    #[test]
    fn a_plain_get_of_a_stream_is_parsed_and_anything_else_is_not() {
        let get =
            b"GET /api/v1/events/stream?ticket=t HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n";
        match parse(get) {
            Parsed::Stream(req) => {
                assert_eq!(req.uri().query(), Some("ticket=t"));
                assert_eq!(req.headers()["last-event-id"], "7");
            }
            _ => panic!("a stream GET must take the lean path"),
        }
        assert!(matches!(parse(&get[..20]), Parsed::Partial));
        for other in [
            &b"POST /api/v1/events/stream HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET /api/v1/projects HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /api/v1/events/stream HTTP/1.0\r\n\r\n",
            b"GET /api/v1/events/stream HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET /api/v1/events/stream HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            b"\x00\x01 garbage\r\n\r\n",
        ] {
            assert!(matches!(parse(other), Parsed::Other), "{other:?}");
        }
    }
}
