//! A minimal HTTP/1.1 server (one thread per connection, `Connection: close`)
//! with the few routes the deployment pipeline touches:
//!
//! - `GET /web/health`: 200 `{"status": "pass"}` when the database is reachable
//!   and `base` is installed, 503 otherwise, 500 when `standin_health = fail`.
//! - `GET /web/login`: a small login page naming the database;
//!   `POST /web/login` checks `login`/`password` against `res_users`.
//! - `POST /web/webclient/version_info`: the JSON-RPC answer with the version.
//! - `GET /`: redirect to `/web/login`.
//!
//! Every request is logged like Odoo's werkzeug lines.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::{self, DbParams};
use crate::log;

pub struct App {
    pub db: DbParams,
    pub db_name: Option<String>,
    pub version: String,
    /// `standin_health = fail` in odoo.conf (or STANDIN_HEALTH=fail).
    pub force_fail: bool,
}

struct Request {
    method: String,
    path: String,
    version: String,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    location: Option<String>,
    body: String,
}

impl Response {
    fn new(status: u16, content_type: &'static str, body: String) -> Response {
        Response {
            status,
            content_type,
            location: None,
            body,
        }
    }
}

pub fn serve(app: App, interface: &str, port: u16) -> Result<(), String> {
    let listener = TcpListener::bind((interface, port))
        .map_err(|e| format!("cannot listen on {interface}:{port}: {e}"))?;
    log::info(
        "",
        "odoo.service.server",
        &format!("HTTP service (werkzeug) running on {interface}:{port}"),
    );
    let app = Arc::new(app);
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                let app = Arc::clone(&app);
                std::thread::spawn(move || handle(&app, s));
            }
            Err(e) => log::warn("", "odoo.service.server", &format!("accept failed: {e}")),
        }
    }
    Ok(())
}

fn handle(app: &App, mut stream: TcpStream) {
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let peer = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "-".into());
    let (line, resp) = match read_request(&mut stream) {
        Ok(req) => {
            let line = format!("{} {} {}", req.method, req.path, req.version);
            (line, route(app, &req))
        }
        Err(e) => (
            "-".to_string(),
            Response::new(400, "text/plain", format!("Bad Request: {e}\n")),
        ),
    };
    let _ = write_response(&mut stream, &resp);
    let level = if resp.status >= 500 {
        "WARNING"
    } else {
        "INFO"
    };
    log::log(
        level,
        app.db_name.as_deref().unwrap_or(""),
        "werkzeug",
        &format!(
            "{peer} - - [{}] \"{line}\" {} - {:.3}",
            log::timestamp(),
            resp.status,
            started.elapsed().as_secs_f64()
        ),
    );
}

fn read_request(stream: &mut TcpStream) -> Result<Request, String> {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .map_err(|e| format!("read: {e}"))?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line".into());
    };
    let mut content_length = 0usize;
    let mut header_bytes = 0usize;
    loop {
        let mut h = String::new();
        let n = reader.read_line(&mut h).map_err(|e| format!("read: {e}"))?;
        header_bytes += n;
        if n == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if header_bytes > 64 * 1024 {
            return Err("headers too large".into());
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = v.trim().parse().map_err(|_| "bad Content-Length")?;
        }
    }
    if content_length > 1024 * 1024 {
        return Err("body too large".into());
    }
    let mut body = vec![0; content_length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("read body: {e}"))?;
    Ok(Request {
        method: method.to_string(),
        path: target.to_string(),
        version: version.to_string(),
        body,
    })
}

fn write_response(stream: &mut TcpStream, r: &Response) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nServer: Werkzeug (odoo-standin)\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    if let Some(loc) = &r.location {
        head.push_str(&format!("Location: {loc}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(r.body.as_bytes())?;
    stream.flush()
}

fn route(app: &App, req: &Request) -> Response {
    let path = req.path.split('?').next().unwrap_or("");
    match (req.method.as_str(), path) {
        ("GET" | "HEAD", "/web/health") => health(app),
        ("GET" | "HEAD", "/web/login") => login_page(app, None),
        ("POST", "/web/login") => login_post(app, &req.body),
        ("POST", "/web/webclient/version_info") => Response::new(
            200,
            "application/json",
            format!(
                "{{\"jsonrpc\": \"2.0\", \"id\": null, \"result\": {{\"server_version\": \"{v}\", \"server_serie\": \"{v}\", \"protocol_version\": 1}}}}",
                v = app.version
            ),
        ),
        ("GET" | "HEAD", "/") => Response {
            location: Some("/web/login".into()),
            ..Response::new(303, "text/html; charset=utf-8", String::new())
        },
        (_, "/web/health" | "/web/login" | "/") => {
            Response::new(405, "text/plain", "Method Not Allowed\n".into())
        }
        _ => Response::new(
            404,
            "text/html; charset=utf-8",
            "<h1>Not Found</h1>\n".into(),
        ),
    }
}

/// Whether the configured database is reachable and initialised. The
/// database's existence is checked through `postgres` first, so that a health
/// probe never makes PgBouncer back off logins to a database not yet created.
fn database_state(app: &App) -> Result<(), String> {
    let name = app.db_name.as_deref().ok_or("no database configured")?;
    let timeout = Duration::from_secs(3);
    let mut admin = app
        .db
        .connect("postgres", timeout)
        .map_err(|e| db::describe_error(&e))?;
    if !db::database_exists(&mut admin, name).map_err(|e| db::describe_error(&e))? {
        return Err(format!("database {name:?} does not exist"));
    }
    drop(admin);
    let mut c = app
        .db
        .connect(name, timeout)
        .map_err(|e| db::describe_error(&e))?;
    if db::is_initialised(&mut c).map_err(|e| db::describe_error(&e))? {
        Ok(())
    } else {
        Err(format!("database {name:?} is not initialised"))
    }
}

fn health(app: &App) -> Response {
    if app.force_fail {
        return Response::new(
            500,
            "application/json",
            "{\"status\": \"fail\", \"reason\": \"standin_health = fail\"}".into(),
        );
    }
    match database_state(app) {
        Ok(()) => Response::new(200, "application/json", "{\"status\": \"pass\"}".into()),
        Err(e) => {
            log::warn(
                app.db_name.as_deref().unwrap_or(""),
                "odoo.http",
                &format!("health check: {e}"),
            );
            Response::new(
                503,
                "application/json",
                format!("{{\"status\": \"fail\", \"reason\": {}}}", json_string(&e)),
            )
        }
    }
}

fn login_page(app: &App, error: Option<&str>) -> Response {
    let db = html_escape(app.db_name.as_deref().unwrap_or("(none)"));
    let err = error
        .map(|e| format!("<p class=\"alert alert-danger\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    Response::new(
        200,
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html>\n<html><head><title>Login | Odoo</title></head><body>\n\
             <form class=\"oe_login_form\" method=\"post\" action=\"/web/login\">\n\
             <p>Database: <span class=\"database\">{db}</span></p>\n{err}\
             <input name=\"login\" placeholder=\"Email\"/> <input name=\"password\" type=\"password\"/>\n\
             <button type=\"submit\">Log in</button>\n</form>\n\
             <p class=\"version\">Odoo {} (paasportal stand-in)</p>\n</body></html>\n",
            html_escape(&app.version)
        ),
    )
}

fn login_post(app: &App, body: &[u8]) -> Response {
    let form = String::from_utf8_lossy(body);
    let field = |name: &str| {
        form.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| url_decode(v))
            .unwrap_or_default()
    };
    let (login, password) = (field("login"), field("password"));
    let Some(name) = app.db_name.as_deref() else {
        return login_page(app, Some("No database selected"));
    };
    let sql = format!(
        "SELECT password FROM res_users WHERE login = {} AND active",
        db::quote_literal(&login)
    );
    let stored = app
        .db
        .connect(name, Duration::from_secs(3))
        .and_then(|mut c| db::rows(&mut c, &sql));
    match stored {
        Ok(rows) => {
            let ok = rows
                .first()
                .and_then(|r| r[0].as_deref())
                .is_some_and(|h| db::verify_password(h, &password));
            if ok {
                Response {
                    location: Some("/odoo".into()),
                    ..Response::new(303, "text/html; charset=utf-8", String::new())
                }
            } else {
                login_page(app, Some("Wrong login/password"))
            }
        }
        Err(e) => Response::new(
            500,
            "text/plain",
            format!("database error: {}\n", db::describe_error(&e)),
        ),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("0");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_escaping() {
        assert_eq!(url_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(url_decode("p%C3%A9"), "pé");
        assert_eq!(html_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
        assert_eq!(json_string("a\"b\n"), "\"a\\\"b\\u000a\"");
    }
}
