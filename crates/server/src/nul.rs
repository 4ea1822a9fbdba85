//! NUL characters in input are refused with a 422 naming the field: PostgreSQL cannot
//! store U+0000 in `text` or `jsonb`, so letting one through would fail the query (a 500)
//! on one backend and not the other.
//!
//! A JSON body can only carry NUL as the escape `\u0000` (raw control characters are
//! invalid JSON), and a query string only as `%00`, so the common case costs one scan of
//! the bytes for those.

use serde_json::{Value, json};

use crate::error::ApiError;

/// A 422 for a NUL character at `loc` (FastAPI's `{loc, msg, type}` shape).
fn refuse(loc: Vec<Value>) -> ApiError {
    let name = loc
        .iter()
        .skip(1)
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".");
    ApiError::Unprocessable(json!([{
        "loc": loc,
        "msg": format!("{name} must not contain NUL characters (\\u0000)"),
        "type": "value_error",
    }]))
}

/// Whether the raw JSON text may contain a NUL character.
pub fn json_may_contain_nul(body: &[u8]) -> bool {
    memfind(body, b"\\u0000")
}

/// `Err` naming the first string (value or key) of `v` that contains NUL.
pub fn check_json(v: &Value) -> Result<(), ApiError> {
    let mut path = vec![Value::String("body".into())];
    match find(v, &mut path) {
        true => Err(refuse(path)),
        false => Ok(()),
    }
}

fn find(v: &Value, path: &mut Vec<Value>) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(json!(i));
                if find(item, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Value::String(k.replace('\0', "\u{FFFD}")));
                if k.contains('\0') || find(item, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// `Err` naming the first query parameter whose name or value contains `%00`.
pub fn check_query(query: Option<&str>) -> Result<(), ApiError> {
    let Some(q) = query else { return Ok(()) };
    if !memfind(q.as_bytes(), b"%00") {
        return Ok(());
    }
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if memfind(k.as_bytes(), b"%00") || memfind(v.as_bytes(), b"%00") {
            let name = percent_encoding::percent_decode_str(&k.replace('+', " "))
                .decode_utf8_lossy()
                .replace('\0', "\u{FFFD}");
            return Err(refuse(vec![json!("query"), json!(name)]));
        }
    }
    Ok(())
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nul_is_found_with_its_path() {
        let v = json!({"a": "ok", "b": [{"c": "x\u{0}y"}]});
        let Err(ApiError::Unprocessable(p)) = check_json(&v) else {
            panic!("not refused")
        };
        assert_eq!(p[0]["loc"], json!(["body", "b", 0, "c"]));
        assert!(p[0]["msg"].as_str().unwrap().starts_with("b.0.c "));
        assert!(check_json(&json!({"a": "\\u0000 is text"})).is_ok());
        assert!(json_may_contain_nul(br#"{"a":"\u0000"}"#));
        assert!(!json_may_contain_nul(br#"{"a":"u0000"}"#));
    }

    #[test]
    fn query_nul_names_the_parameter() {
        let Err(ApiError::Unprocessable(p)) = check_query(Some("level=info&q=a%00b")) else {
            panic!("not refused")
        };
        assert_eq!(p[0]["loc"], json!(["query", "q"]));
        assert!(check_query(Some("q=%2500")).is_ok());
        assert!(check_query(None).is_ok());
    }
}
