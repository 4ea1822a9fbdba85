//! Paging and filter parameters, validated into 422s.

use std::str::FromStr;

use crate::error::ApiResult;
use crate::extract::unprocessable;

/// `skip` ≥ 0 (default 0) and `limit` within `1..=max` (default `default`).
pub fn paging(
    skip: Option<i64>,
    limit: Option<i64>,
    default: i64,
    max: i64,
) -> ApiResult<(i64, i64)> {
    let skip = skip.unwrap_or(0);
    if skip < 0 {
        return Err(unprocessable("skip", "skip must be 0 or more"));
    }
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(unprocessable(
            "limit",
            format!("limit must be between 1 and {max}"),
        ));
    }
    Ok((skip, limit))
}

/// Parses an optional enum parameter, naming the parameter in the 422.
pub fn parse_opt<T>(name: &str, v: Option<&str>) -> ApiResult<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match v {
        None => Ok(None),
        Some(s) => s
            .parse::<T>()
            .map(Some)
            .map_err(|e| unprocessable(name, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paasportal_core::LogLevel;

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(paging(None, None, 500, 5000).unwrap(), (0, 500));
        assert!(paging(Some(-1), None, 500, 5000).is_err());
        assert!(paging(None, Some(0), 500, 5000).is_err());
        assert!(paging(None, Some(5001), 500, 5000).is_err());
        assert_eq!(paging(Some(3), Some(5000), 500, 5000).unwrap(), (3, 5000));
        assert_eq!(
            parse_opt::<LogLevel>("level", Some("error")).unwrap(),
            Some(LogLevel::Error)
        );
        assert!(parse_opt::<LogLevel>("level", Some("fatal")).is_err());
        assert!(parse_opt::<LogLevel>("level", None).unwrap().is_none());
    }
}
