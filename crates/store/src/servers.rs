//! Servers and their encrypted SSH credentials.

use chrono::{DateTime, Utc};
use paasportal_core::{AuthMethod, Server};
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::parse;
use crate::{Store, with_db};

#[derive(sqlx::FromRow)]
struct ServerRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    ip: String,
    ssh_port: i64,
    ssh_user: String,
    auth_method: String,
    host_key_fingerprint: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ServerRow> for Server {
    type Error = StoreError;
    fn try_from(r: ServerRow) -> Result<Self> {
        Ok(Server {
            id: r.id,
            organization_id: r.organization_id,
            name: r.name,
            ip: r.ip,
            ssh_port: u16::try_from(r.ssh_port)
                .map_err(|_| StoreError::Corrupt("ssh_port".into()))?,
            ssh_user: r.ssh_user,
            auth_method: parse(&r.auth_method)?,
            host_key_fingerprint: r.host_key_fingerprint,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const SERVER_COLUMNS: &str = "id, organization_id, name, ip, ssh_port, ssh_user, auth_method, \
                              host_key_fingerprint, created_at, updated_at";

/// A server to create. Credentials arrive already encrypted.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub organization_id: Uuid,
    pub name: String,
    pub ip: String,
    pub ssh_port: u16,
    pub ssh_user: String,
    pub auth_method: AuthMethod,
    pub secrets: ServerSecrets,
}

/// A server's encrypted credentials and pinned host key.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ServerSecrets {
    pub ssh_private_key_enc: Option<Vec<u8>>,
    pub ssh_key_passphrase_enc: Option<Vec<u8>>,
    pub ssh_password_enc: Option<Vec<u8>>,
    /// The host's public key in OpenSSH format, pinned on first connect.
    pub host_key: Option<String>,
}

/// Changes to a server; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ServerPatch {
    pub name: Option<String>,
    pub ip: Option<String>,
    pub ssh_port: Option<u16>,
    pub ssh_user: Option<String>,
    /// A new authentication method and its encrypted credentials.
    pub credentials: Option<(AuthMethod, ServerSecrets)>,
}

impl Store {
    /// Creates a server.
    pub async fn create_server(&self, s: &NewServer) -> Result<Server> {
        let sql = "INSERT INTO servers (id, organization_id, name, ip, ssh_port, ssh_user, auth_method, \
                   ssh_private_key_enc, ssh_key_passphrase_enc, ssh_password_enc, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                   RETURNING id, organization_id, name, ip, ssh_port, ssh_user, auth_method, \
                   host_key_fingerprint, created_at, updated_at";
        let row: ServerRow = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(Uuid::now_v7())
            .bind(s.organization_id)
            .bind(&s.name)
            .bind(&s.ip)
            .bind(i64::from(s.ssh_port))
            .bind(&s.ssh_user)
            .bind(s.auth_method.as_str())
            .bind(&s.secrets.ssh_private_key_enc)
            .bind(&s.secrets.ssh_key_passphrase_enc)
            .bind(&s.secrets.ssh_password_enc)
            .bind(Utc::now())
            .fetch_all(p)
            .await.and_then(crate::observe::one))
        .map_err(StoreError::classify)?;
        row.try_into()
    }

    /// One server by id.
    pub async fn get_server(&self, id: Uuid) -> Result<Server> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SERVER_COLUMNS} FROM servers WHERE id = $1"
        ));
        let row: Option<ServerRow> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A server's encrypted credentials and pinned host key.
    pub async fn get_server_secrets(&self, id: Uuid) -> Result<ServerSecrets> {
        let sql = "SELECT ssh_private_key_enc, ssh_key_passphrase_enc, ssh_password_enc, host_key \
                   FROM servers WHERE id = $1";
        let row: Option<ServerSecrets> =
            with_db!(self.db(), p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Pins a server's host key (first connect).
    pub async fn pin_host_key(&self, id: Uuid, host_key: &str, fingerprint: &str) -> Result<()> {
        let sql = "UPDATE servers SET host_key = $2, host_key_fingerprint = $3, updated_at = $4 WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql)
            .bind(id)
            .bind(host_key)
            .bind(fingerprint)
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// A page of servers, oldest first: all of them (`None`), or those of organizations
    /// `user` owns or administers; optionally of one organization.
    pub async fn list_servers(
        &self,
        user: Option<Uuid>,
        org: Option<Uuid>,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<Server>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SERVER_COLUMNS} FROM servers s WHERE ($1 IS NULL \
             OR s.organization_id IN (SELECT organization_id FROM organization_members \
             WHERE user_id = $1 AND role IN ('owner', 'admin'))) \
             AND ($2 IS NULL OR s.organization_id = $2) \
             ORDER BY created_at, id LIMIT $3 OFFSET $4"
        ));
        let rows: Vec<ServerRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(user)
            .bind(org)
            .bind(limit)
            .bind(skip)
            .fetch_all(p)
            .await)?;
        rows.into_iter().map(Server::try_from).collect()
    }

    /// Changes a server's address or login; `None` keeps the current value. New
    /// credentials (already encrypted) replace all stored ones when `credentials` is set.
    pub async fn update_server(&self, id: Uuid, s: &ServerPatch) -> Result<Server> {
        let (set_creds, method, secrets) = match &s.credentials {
            Some((m, sec)) => (true, Some(m.as_str()), sec.clone()),
            None => (false, None, ServerSecrets::default()),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE servers SET name = COALESCE($2, name), ip = COALESCE($3, ip), \
             ssh_port = COALESCE($4, ssh_port), ssh_user = COALESCE($5, ssh_user), \
             auth_method = COALESCE($6, auth_method), \
             ssh_private_key_enc = CASE WHEN $7 THEN $8 ELSE ssh_private_key_enc END, \
             ssh_key_passphrase_enc = CASE WHEN $7 THEN $9 ELSE ssh_key_passphrase_enc END, \
             ssh_password_enc = CASE WHEN $7 THEN $10 ELSE ssh_password_enc END, \
             updated_at = $11 WHERE id = $1 RETURNING {SERVER_COLUMNS}"
        ));
        let row: Option<ServerRow> = with_db!(self.db(), p => sqlx::query_as(sql)
            .bind(id)
            .bind(&s.name)
            .bind(&s.ip)
            .bind(s.ssh_port.map(i64::from))
            .bind(&s.ssh_user)
            .bind(method)
            .bind(set_creds)
            .bind(&secrets.ssh_private_key_enc)
            .bind(&secrets.ssh_key_passphrase_enc)
            .bind(&secrets.ssh_password_enc)
            .bind(Utc::now())
            .fetch_all(p)
            .await.map(crate::observe::first))
        .map_err(StoreError::classify)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Deletes a server; `Conflict` while environments still run on it.
    pub async fn delete_server(&self, id: Uuid) -> Result<()> {
        let sql = "DELETE FROM servers WHERE id = $1";
        let n = with_db!(self.db(), p => sqlx::query(sql).bind(id).execute(p).await.map(|r| r.rows_affected()))
            .map_err(StoreError::classify)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
