//! The account services called directly, as REST handlers and workers will call them
//! (the HTTP tests cover the same rules through the server functions).
use crate::support::{PASSWORD, TestApp};
use app::auth::service as auth;
use app::error::AppError;

#[tokio::test]
async fn account_services_sign_up_in_and_out() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    auth::sign_up(st, "Svc@Example.com", PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    // Sign-up signs nobody in (it answers the same for a taken address); the password does.
    let signed_up = auth::sign_in(st, "svc@example.com", PASSWORD, "10.0.0.1", "test")
        .await
        .unwrap();
    assert_eq!(signed_up.user.email, "svc@example.com");
    let (actor, user) = auth::session_user(st, &signed_up.token)
        .await
        .unwrap()
        .expect("session");
    assert_eq!(user.id, signed_up.user.id);
    let vaults = app::vaults::service::list_vaults(&st.db, &actor)
        .await
        .unwrap();
    assert_eq!(vaults.len(), 1);
    assert_eq!(vaults[0].name, "My vault");

    // A taken address: the same answer, no second account.
    let dup = auth::sign_up(st, "svc@example.com", PASSWORD, "10.0.0.1").await;
    assert!(dup.is_ok(), "{:?}", dup.err());
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let wrong = auth::sign_in(
        st,
        "svc@example.com",
        "not the password",
        "10.0.0.1",
        "test",
    )
    .await;
    assert!(matches!(wrong, Err(AppError::Unauthenticated { .. })));
    let unknown = auth::sign_in(
        st,
        "nobody@example.com",
        "not the password",
        "10.0.0.1",
        "test",
    )
    .await;
    assert_eq!(wrong.err(), unknown.err());

    let again = auth::sign_in(st, "svc@example.com", PASSWORD, "10.0.0.2", "test")
        .await
        .unwrap();
    assert_ne!(again.token, signed_up.token);
    auth::sign_out(st, &signed_up.token).await.unwrap();
    auth::sign_out(st, &signed_up.token).await.unwrap(); // idempotent
    assert!(
        auth::session_user(st, &signed_up.token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        auth::session_user(st, &again.token)
            .await
            .unwrap()
            .is_some()
    );
    app.clock.advance_ms(25 * 3_600_000);
    assert!(
        auth::session_user(st, &again.token)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
}

#[tokio::test]
async fn service_calls_check_the_actor_first() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    for email in ["sa@example.com", "sb@example.com"] {
        auth::sign_up(st, email, PASSWORD, "10.0.0.1")
            .await
            .unwrap();
    }
    let a = auth::sign_in(st, "sa@example.com", PASSWORD, "10.0.0.1", "t")
        .await
        .unwrap();
    let b = auth::sign_in(st, "sb@example.com", PASSWORD, "10.0.0.1", "t")
        .await
        .unwrap();
    let (a_actor, _) = auth::session_user(st, &a.token).await.unwrap().unwrap();
    let (b_actor, _) = auth::session_user(st, &b.token).await.unwrap().unwrap();
    let a_vault = app::vaults::service::list_vaults(&st.db, &a_actor)
        .await
        .unwrap()[0]
        .id
        .clone();
    let new_upload = |vault: &str, name: &str, size: i64| app::uploads::NewUpload {
        vault_id: vault.into(),
        name: name.into(),
        size,
        ..Default::default()
    };
    let ticket =
        app::uploads::service::start_upload(st, &a_actor, &new_upload(&a_vault, "x.bin", 10))
            .await
            .unwrap();
    let not_found = |r: Result<(), AppError>| assert_eq!(r.err(), Some(AppError::NotFound));
    not_found(
        app::vaults::service::get_vault(&st.db, &b_actor, &a_vault)
            .await
            .map(|_| ()),
    );
    not_found(
        app::files::service::list_page(
            &st.db,
            &b_actor,
            &app::files::ListQuery {
                vault_id: a_vault.clone(),
                ..Default::default()
            },
            None,
            100,
        )
        .await
        .map(|_| ()),
    );
    not_found(
        app::uploads::service::start_upload(st, &b_actor, &new_upload(&a_vault, "y", 1))
            .await
            .map(|_| ()),
    );
    not_found(
        app::uploads::service::presign_parts(
            st,
            &b_actor,
            &ticket.upload_id,
            &[app::uploads::PartRequest {
                number: 1,
                checksum: crate::support::part_sum(b""),
            }],
        )
        .await
        .map(|_| ()),
    );
    not_found(app::uploads::service::abort_upload(st, &b_actor, &ticket.upload_id).await);
    not_found(
        app::downloads::service::download_url(st, &b_actor, &ticket.file_id)
            .await
            .map(|_| ()),
    );
}
