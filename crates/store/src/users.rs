//! Users, their password hashes, and the memberships that make up their [`Access`].

use chrono::{DateTime, Utc};
use paasportal_core::{Access, User};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    is_portal_admin: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            email: r.email,
            name: r.name,
            is_portal_admin: r.is_portal_admin,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_portal_admin: bool,
}

/// Changes to a user; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub is_portal_admin: Option<bool>,
}

impl Store {
    /// Creates a user; e-mail addresses are unique, compared case-insensitively.
    pub async fn create_user(&self, u: &NewUser) -> Result<User> {
        let now = Utc::now();
        let sql = "INSERT INTO users (id, email, name, password_hash, is_portal_admin, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $6) \
                   RETURNING id, email, name, is_portal_admin, created_at, updated_at";
        let row: UserRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(u.email.trim().to_lowercase())
            .bind(&u.name)
            .bind(&u.password_hash)
            .bind(u.is_portal_admin)
            .bind(now)
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        Ok(row.into())
    }

    /// One user by id.
    pub async fn get_user(&self, id: Uuid) -> Result<User> {
        let sql = "SELECT id, email, name, is_portal_admin, created_at, updated_at FROM users WHERE id = $1";
        let row: Option<UserRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.map(User::from).ok_or(StoreError::NotFound)
    }

    /// A user and their password hash, by e-mail (case-insensitive).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let sql = "SELECT id, email, name, is_portal_admin, created_at, updated_at, password_hash \
                   FROM users WHERE email = $1";
        let row: Option<Row> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(email.trim().to_lowercase())
            .fetch_optional(p)
            .await)?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    /// Every user, oldest first.
    pub async fn list_users(&self, skip: i64, limit: i64) -> Result<Vec<User>> {
        let sql = "SELECT id, email, name, is_portal_admin, created_at, updated_at FROM users \
                   ORDER BY created_at, id LIMIT $1 OFFSET $2";
        let rows: Vec<UserRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// How many users exist (0 on first start).
    pub async fn count_users(&self) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM users";
        Ok(with_db!(self.db(), p => sqlx::query_scalar(sql).fetch_one(p).await)?)
    }

    /// Changes a user's name, e-mail, password hash or admin flag (`None` keeps the value).
    pub async fn update_user(&self, id: Uuid, u: &UserPatch) -> Result<User> {
        let sql = "UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email), \
                   password_hash = COALESCE($4, password_hash), \
                   is_portal_admin = COALESCE($5, is_portal_admin), updated_at = $6 WHERE id = $1 \
                   RETURNING id, email, name, is_portal_admin, created_at, updated_at";
        let row: Option<UserRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(&u.name)
            .bind(u.email.as_ref().map(|e| e.trim().to_lowercase()))
            .bind(&u.password_hash)
            .bind(u.is_portal_admin)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.map(User::from).ok_or(StoreError::NotFound)
    }

    /// Deletes a user with their memberships and tokens.
    pub async fn delete_user(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM users WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Everything `user_id` may do, from their memberships as they are now. One round
    /// trip: every authenticated request starts with it.
    pub async fn load_access(&self, user_id: Uuid) -> Result<Access> {
        let sql = "SELECT 'user' AS kind, id AS target, \
                          CASE WHEN is_portal_admin THEN 'admin' ELSE '' END AS role \
                   FROM users WHERE id = $1 \
                   UNION ALL SELECT 'org', organization_id, role FROM organization_members WHERE user_id = $1 \
                   UNION ALL SELECT 'project', project_id, role FROM project_members WHERE user_id = $1";
        let rows: Vec<(String, Uuid, String)> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(user_id).fetch_all(p).await)?;
        let mut access = Access {
            user_id,
            portal_admin: false,
            org_roles: Default::default(),
            project_roles: Default::default(),
        };
        let mut found = false;
        for (kind, target, role) in rows {
            match kind.as_str() {
                "user" => {
                    found = true;
                    access.portal_admin = role == "admin";
                }
                "org" => {
                    access.org_roles.insert(target, parse(&role)?);
                }
                _ => {
                    access.project_roles.insert(target, parse(&role)?);
                }
            }
        }
        if found {
            Ok(access)
        } else {
            Err(StoreError::NotFound)
        }
    }
}
