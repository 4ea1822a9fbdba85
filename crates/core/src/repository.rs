//! Addon repositories at platform, organization and project scope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;

text_enum! {
    /// Who a repository is shared with; also its place in `addons_path`.
    pub enum RepoScope: "repository scope" {
        Platform = "platform",
        Organization = "organization",
        Project = "project",
    }
}

/// A git repository of Odoo addons. The access token is write-only and not part of this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Repository {
    pub id: Uuid,
    pub scope: RepoScope,
    pub organization_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub name: String,
    /// Directory name under `addons/`, derived from the name.
    pub slug: String,
    pub url: String,
    pub branch: String,
    /// The project's primary repository (project scope only).
    pub is_primary: bool,
    pub has_token: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Lower-case letters, digits and dashes: safe as a directory name and in a shell.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "repo".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_shell_and_path_safe() {
        assert_eq!(slugify("Platform Reporting"), "platform-reporting");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(slugify("$(rm -rf /)"), "rm-rf");
        assert_eq!(slugify("***"), "repo");
    }
}
