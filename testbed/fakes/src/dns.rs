//! A DNS server for the zone: A queries answered from the records the fake Cloudflare
//! API holds (authoritatively, NXDOMAIN for unknown names), REFUSED outside the zone.

use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::records::Zone;

/// The answer to one query message, or `None` for something that is not a query.
fn answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.queries = req.queries.clone();
    let Some(q) = req
        .queries
        .first()
        .filter(|_| req.metadata.op_code == OpCode::Query)
    else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return resp.to_vec().ok();
    };
    let name = q.name().to_ascii();
    if !zone.contains(&name) {
        resp.metadata.response_code = ResponseCode::Refused;
        return resp.to_vec().ok();
    }
    resp.metadata.authoritative = true;
    match zone.resolve(&name) {
        None => resp.metadata.response_code = ResponseCode::NXDomain,
        Some(addrs) if q.query_type() == RecordType::A || q.query_type() == RecordType::ANY => {
            for (ip, ttl) in addrs {
                resp.add_answer(Record::from_rdata(q.name().clone(), ttl, RData::A(A(ip))));
            }
        }
        Some(_) => {}
    }
    resp.to_vec().ok()
}

/// Answers UDP queries until the socket fails.
pub async fn serve_udp(sock: tokio::net::UdpSocket, zone: Arc<Zone>) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, peer) = sock.recv_from(&mut buf).await?;
        if let Some(out) = answer(&zone, &buf[..n]) {
            let _ = sock.send_to(&out, peer).await;
        }
    }
}

/// Answers TCP queries (two-byte length prefix) until the listener fails.
pub async fn serve_tcp(listener: tokio::net::TcpListener, zone: Arc<Zone>) -> std::io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let zone = zone.clone();
        tokio::spawn(async move {
            loop {
                let Ok(len) = stream.read_u16().await else {
                    return;
                };
                let mut msg = vec![0u8; len as usize];
                if stream.read_exact(&mut msg).await.is_err() {
                    return;
                }
                let Some(out) = answer(&zone, &msg) else {
                    return;
                };
                let Ok(out_len) = u16::try_from(out.len()) else {
                    return;
                };
                if stream.write_u16(out_len).await.is_err() || stream.write_all(&out).await.is_err()
                {
                    return;
                }
            }
        });
    }
}
