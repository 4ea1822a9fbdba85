//! A store, a log writer, a master key and a deployment aimed at the private test sshd,
//! and a worker to run it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use paasportal_core::{
    AuthMethod, Deployment, Environment, LogRecord, Project, SecretBox, Server, Trigger, User,
};
use paasportal_engine::{Engine, EngineConfig, Pipeline, Worker};
use paasportal_store::environments::NewEnvironment;
use paasportal_store::logs::LogQuery;
use paasportal_store::servers::{NewServer, ServerSecrets};
use paasportal_store::users::NewUser;
use paasportal_store::versions::NewOdooVersion;
use paasportal_store::writer::{NoSink, WriterTask};
use paasportal_store::{LogWriter, WriterConfig};
use paasportal_testkit::{TestBackend, TestStore};
use tokio::sync::oneshot;

use super::ssh_env::SshEnv;

/// How the seeded server authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestAuth {
    Key,
    EncryptedKey,
    Password,
    WrongPassword,
    WrongKey,
}

/// What [`Harness::seed`] created.
pub struct Seeded {
    pub user: User,
    pub project: Project,
    pub server: Server,
    pub environment: Environment,
    pub deployment: Deployment,
}

/// One test's world.
pub struct Harness {
    pub t: TestStore,
    pub writer: LogWriter,
    writer_task: Option<WriterTask>,
    pub secrets: SecretBox,
    pub ssh: SshEnv,
}

/// Settings that make tests fast: frequent heartbeats and polls, short leases.
pub fn fast_config() -> EngineConfig {
    EngineConfig {
        concurrency: 4,
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_millis(200),
        poll: Duration::from_millis(50),
        reap_every: Duration::from_millis(200),
        shutdown_grace: Duration::from_secs(10),
        ..Default::default()
    }
}

impl Harness {
    /// A fresh store on `backend` with a running log writer.
    pub async fn new(backend: TestBackend) -> Harness {
        let ssh = SshEnv::load();
        let t = TestStore::new(backend).await;
        let (writer, task) =
            LogWriter::start(t.store.clone(), Arc::new(NoSink), WriterConfig::default());
        Harness {
            t,
            writer,
            writer_task: Some(task),
            secrets: SecretBox::new(&SecretBox::generate_key()).unwrap(),
            ssh,
        }
    }

    /// A user, organization, project, server on the test sshd, environment and one
    /// queued deployment.
    pub async fn seed(&self, tag: &str, auth: TestAuth) -> Seeded {
        self.seed_with(tag, auth, |_| {}).await
    }

    /// [`Harness::seed`] with the environment adjusted by `adjust` before it is created.
    pub async fn seed_with(
        &self,
        tag: &str,
        auth: TestAuth,
        adjust: impl FnOnce(&mut NewEnvironment),
    ) -> Seeded {
        let store = &self.t.store;
        let user = store
            .create_user(&NewUser {
                email: format!("owner-{tag}@example.com"),
                name: format!("Owner {tag}"),
                password_hash: "unused".into(),
                is_portal_admin: false,
            })
            .await
            .unwrap();
        let org = store
            .create_organization(&format!("Org {tag}"))
            .await
            .unwrap();
        let project = store
            .create_project(org.id, &format!("Project {tag}"))
            .await
            .unwrap();
        let seal = |s: &str| Some(self.secrets.seal(s));
        let (auth_method, secrets) = match auth {
            TestAuth::Key => (
                AuthMethod::Key,
                ServerSecrets {
                    ssh_private_key_enc: seal(&self.ssh.key),
                    ..Default::default()
                },
            ),
            TestAuth::EncryptedKey => (
                AuthMethod::Key,
                ServerSecrets {
                    ssh_private_key_enc: seal(&self.ssh.key_encrypted),
                    ssh_key_passphrase_enc: seal(&self.ssh.key_passphrase),
                    ..Default::default()
                },
            ),
            TestAuth::WrongKey => (
                AuthMethod::Key,
                ServerSecrets {
                    ssh_private_key_enc: seal(&self.ssh.wrong_key),
                    ..Default::default()
                },
            ),
            TestAuth::Password => (
                AuthMethod::Password,
                ServerSecrets {
                    ssh_password_enc: seal(&self.ssh.password),
                    ..Default::default()
                },
            ),
            TestAuth::WrongPassword => (
                AuthMethod::Password,
                ServerSecrets {
                    ssh_password_enc: seal("definitely-not-the-password"),
                    ..Default::default()
                },
            ),
        };
        let server = store
            .create_server(&NewServer {
                organization_id: org.id,
                name: format!("server-{tag}"),
                ip: self.ssh.host.clone(),
                ssh_port: self.ssh.port,
                ssh_user: self.ssh.user.clone(),
                auth_method,
                secrets,
            })
            .await
            .unwrap();
        if store.get_odoo_version("18.0").await.is_err() {
            store
                .create_odoo_version(&NewOdooVersion {
                    version: "18.0".into(),
                    image: "odoo:18.0".into(),
                    registry_username: None,
                    registry_password_enc: None,
                })
                .await
                .unwrap();
        }
        let mut new_env = NewEnvironment {
            project_id: project.id,
            server_id: server.id,
            name: "production".into(),
            branch: "main".into(),
            subdomain: format!("prod-{tag}"),
            apps_domain: "apps.example.com".into(),
            odoo_version: "18.0".into(),
            cpu_cores: 2.0,
            ram_mb: 2048,
            disk_gb: 20,
            config_overrides: serde_json::json!({}),
            read_replica: false,
            migration_id: None,
        };
        adjust(&mut new_env);
        let environment = store.create_environment(&new_env).await.unwrap();
        let deployment = store
            .create_deployment(environment.id, Trigger::Manual, Some(user.id))
            .await
            .unwrap();
        Seeded {
            user,
            project,
            server,
            environment,
            deployment,
        }
    }

    /// The engine with `pipeline` and `config`.
    pub fn engine(&self, pipeline: Pipeline, config: EngineConfig) -> Engine {
        Engine::new(
            self.t.store.clone(),
            self.writer.clone(),
            self.secrets.clone(),
            config,
            pipeline,
        )
    }

    /// Starts a worker; stop it with [`RunningWorker::stop`].
    pub fn start_worker(&self, engine: Engine) -> RunningWorker {
        let (tx, rx) = oneshot::channel::<()>();
        let worker = Worker::new(engine);
        let handle = tokio::spawn(worker.run(async {
            let _ = rx.await;
        }));
        RunningWorker {
            stop: Some(tx),
            handle,
        }
    }

    /// Waits until the deployment has finished; panics after `limit`.
    pub async fn wait_finished(&self, id: uuid::Uuid, limit: Duration) -> Deployment {
        let started = Instant::now();
        loop {
            let d = self.t.store.get_deployment(id).await.unwrap();
            if d.status.is_finished() {
                return d;
            }
            assert!(
                started.elapsed() < limit,
                "deployment still {} after {limit:?}",
                d.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every log line of a deployment, in order.
    pub async fn logs(&self, id: uuid::Uuid) -> Vec<LogRecord> {
        self.t
            .store
            .list_logs(
                id,
                &LogQuery {
                    limit: 100_000,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    /// Waits for a log line matching `pred`; panics after `limit`.
    pub async fn wait_for_line(
        &self,
        id: uuid::Uuid,
        limit: Duration,
        pred: impl Fn(&LogRecord) -> bool,
    ) -> LogRecord {
        let started = Instant::now();
        loop {
            if let Some(l) = self.logs(id).await.into_iter().find(|l| pred(l)) {
                return l;
            }
            assert!(
                started.elapsed() < limit,
                "no matching line after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Flushes and stops the log writer.
    pub async fn close(mut self) {
        if let Some(t) = self.writer_task.take() {
            t.shutdown().await;
        }
    }
}

/// A worker running in a task.
pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), paasportal_engine::EngineError>>,
}

impl RunningWorker {
    /// Asks the worker to stop and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.handle
            .await
            .expect("the worker task")
            .expect("the worker ran without error");
    }
}

/// Messages of the lines, for assertions.
pub fn messages(lines: &[LogRecord]) -> Vec<String> {
    lines.iter().map(|l| l.log.message.clone()).collect()
}
