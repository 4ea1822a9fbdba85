//! The repository, DNS and database stages' inputs and records, on both backends.

use chrono::Utc;
use paasportal_core::{GitInfo, RepoScope, Stage, StepStatus};
use paasportal_store::StoreError;
use paasportal_store::deploy_inputs::{AdminPassword, DnsProvider};
use paasportal_store::repositories::NewRepository;
use paasportal_testkit::TestStore;
use paasportal_testkit::fixtures::seed;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let t = paasportal_testkit::TestStore::new(paasportal_testkit::TestBackend::Sqlite).await;
                super::$name(&t).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let t = paasportal_testkit::TestStore::new(paasportal_testkit::TestBackend::Postgres).await;
                super::$name(&t).await
            })*
        }
    };
}

both_backends!(
    repositories_come_in_clone_order,
    dns_provider_and_git_info_round_trip,
    admin_password_is_revealed_once,
    migration_restore_is_marked_once_with_its_step,
);

fn repo(scope: RepoScope, name: &str) -> NewRepository {
    NewRepository {
        scope,
        organization_id: None,
        project_id: None,
        name: name.into(),
        url: format!("http://127.0.0.1:1/{name}.git"),
        branch: "main".into(),
        token_enc: None,
        is_primary: false,
    }
}

async fn repositories_come_in_clone_order(t: &TestStore) {
    let s = &t.store;
    let a = seed(s, "a").await;
    let b = seed(s, "b").await;
    let add = |r: NewRepository| async move { s.create_repository(&r).await.unwrap() };
    add(NewRepository {
        project_id: Some(a.project.id),
        ..repo(RepoScope::Project, "extra")
    })
    .await;
    add(NewRepository {
        organization_id: Some(a.org.id),
        ..repo(RepoScope::Organization, "org-theme")
    })
    .await;
    let primary = add(NewRepository {
        project_id: Some(a.project.id),
        is_primary: true,
        token_enc: Some(vec![1, 2, 3]),
        ..repo(RepoScope::Project, "My Project")
    })
    .await;
    add(repo(RepoScope::Platform, "platform-reporting")).await;
    add(NewRepository {
        organization_id: Some(b.org.id),
        ..repo(RepoScope::Organization, "other-org")
    })
    .await;
    add(NewRepository {
        project_id: Some(b.project.id),
        ..repo(RepoScope::Project, "other-project")
    })
    .await;

    let got = s
        .deployment_repositories(a.org.id, a.project.id)
        .await
        .unwrap();
    let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["platform-reporting", "org-theme", "My Project", "extra"]
    );
    assert!(got[2].is_primary && got[2].has_token);
    assert_eq!(got[2].slug, "my-project");
    assert!(!got[3].has_token);
    assert_eq!(
        s.repository_token_enc(primary.id).await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(s.repository_token_enc(got[0].id).await.unwrap(), None);
}

async fn dns_provider_and_git_info_round_trip(t: &TestStore) {
    let s = &t.store;
    let a = seed(s, "a").await;
    assert_eq!(s.dns_provider(a.org.id).await.unwrap(), None);
    let mut p = DnsProvider {
        organization_id: a.org.id,
        provider: "cloudflare".into(),
        zone_id: "zone1".into(),
        api_token_enc: vec![9; 4],
        api_base_url: Some("http://127.0.0.1:1/client/v4".into()),
    };
    s.set_dns_provider(&p).await.unwrap();
    p.zone_id = "zone2".into();
    s.set_dns_provider(&p).await.unwrap();
    assert_eq!(s.dns_provider(a.org.id).await.unwrap(), Some(p));

    let g = GitInfo {
        git_commit: "a3b2c1d4e5f60718293a4b5c6d7e8f9012345678".into(),
        git_message: "Add customer portal module".into(),
        git_branch: "main".into(),
        committer_name: "John Doe".into(),
        committer_email: "john@example.com".into(),
        commit_date: Some("2025-01-08T14:32:15Z".parse().unwrap()),
    };
    s.record_git_info(a.deployment.id, &g).await.unwrap();
    let d = s.get_deployment(a.deployment.id).await.unwrap();
    assert_eq!(d.git_commit.as_deref(), Some(g.git_commit.as_str()));
    assert_eq!(d.git_message.as_deref(), Some("Add customer portal module"));
    assert_eq!(d.git_branch.as_deref(), Some("main"));
    assert_eq!(d.committer_name.as_deref(), Some("John Doe"));
    assert_eq!(d.committer_email.as_deref(), Some("john@example.com"));
    assert_eq!(d.commit_date, g.commit_date);

    assert_eq!(s.admin_password_enc(a.environment.id).await.unwrap(), None);
    s.set_admin_password_enc(a.environment.id, &[7, 7])
        .await
        .unwrap();
    assert_eq!(
        s.admin_password_enc(a.environment.id).await.unwrap(),
        Some(vec![7, 7])
    );
}

async fn admin_password_is_revealed_once(t: &TestStore) {
    let s = &t.store;
    let a = seed(s, "a").await;
    let env = a.environment.id;
    assert_eq!(
        s.reveal_admin_password(env).await.unwrap(),
        AdminPassword::NotGenerated
    );
    s.set_admin_password_enc(env, &[1]).await.unwrap();
    assert_eq!(
        s.reveal_admin_password(env).await.unwrap(),
        AdminPassword::Revealed(vec![1])
    );
    assert_eq!(
        s.reveal_admin_password(env).await.unwrap(),
        AdminPassword::AlreadyRevealed
    );
    s.set_admin_password_enc(env, &[2]).await.unwrap();
    assert_eq!(
        s.reveal_admin_password(env).await.unwrap(),
        AdminPassword::Revealed(vec![2])
    );
    assert!(matches!(
        s.reveal_admin_password(uuid::Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
}

async fn migration_restore_is_marked_once_with_its_step(t: &TestStore) {
    let s = &t.store;
    let a = seed(s, "a").await;
    let m = s
        .create_migration(a.org.id, "legacy", "migrations/good.zip")
        .await
        .unwrap();
    assert_eq!(s.get_migration(m.id).await.unwrap(), m);
    let step = Stage::InitializingDatabase.info().id;
    s.init_steps(a.deployment.id, &[step]).await.unwrap();
    let at = Utc::now();
    s.complete_migration_restore(a.environment.id, a.deployment.id, step, at, 12.5)
        .await
        .unwrap();
    let env = s.get_environment(a.environment.id).await.unwrap();
    assert!(env.migration_restore_completed);
    assert!(env.migration_restore_completed_at.is_some());
    let steps = s.list_steps(a.deployment.id).await.unwrap();
    assert_eq!(steps[0].status, StepStatus::Completed);
    assert_eq!(steps[0].duration_seconds, Some(12.5));

    let again = s
        .complete_migration_restore(a.environment.id, a.deployment.id, step, Utc::now(), 1.0)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let env2 = s.get_environment(a.environment.id).await.unwrap();
    assert_eq!(
        env2.migration_restore_completed_at,
        env.migration_restore_completed_at
    );
}
