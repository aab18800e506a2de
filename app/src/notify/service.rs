//! Notifications and mail. A notification and its mail are written in the caller's
//! transaction (so a crash never leaves one without the other); the mailer job sends the
//! outbox over SMTP, at least once, retrying with backoff, and never logs the SMTP URL.
use super::{MAIL_KINDS, Mail, MailPref, Notification};
use crate::core::{Actor, AppState, Config, jobs, new_id};
use crate::error::AppError;

/// Tries per mail before the mailer gives up on it (its last error stays on the row).
pub const MAX_MAIL_TRIES: i64 = 10;

/// Records a notification for the user and queues the same as a mail to their address.
#[allow(clippy::too_many_arguments)]
pub async fn notify(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    config: &Config,
    user_id: &str,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, title, body, link, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(kind)
    .bind(title)
    .bind(body)
    .bind(link)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let text = if link.is_empty() {
        format!("{body}\n\n— Nexus Deep Storage\n")
    } else {
        format!(
            "{body}\n\nOpen it: {}{link}\n\n— Nexus Deep Storage\n",
            config.public_url
        )
    };
    // The mail too, unless the person turned this kind's mail off (or deleted the account).
    sqlx::query(
        "INSERT INTO mail_outbox (id, to_addr, subject, body, created_at)
         SELECT $1, email, $2, $3, $4 FROM users WHERE id = $5 AND deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM notification_prefs p
                           WHERE p.user_id = users.id AND p.kind = $6 AND p.mail = 0)",
    )
    .bind(new_id())
    .bind(title)
    .bind(text)
    .bind(now)
    .bind(user_id)
    .bind(kind)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The person's mail setting for each kind of notification.
pub async fn mail_prefs(st: &AppState, actor: &Actor) -> Result<Vec<MailPref>, AppError> {
    let off: Vec<(String,)> =
        sqlx::query_as("SELECT kind FROM notification_prefs WHERE user_id = $1 AND mail = 0")
            .bind(actor.user_id())
            .fetch_all(&st.db.pool)
            .await?;
    Ok(MAIL_KINDS
        .iter()
        .map(|(kind, label, optional)| MailPref {
            kind: kind.to_string(),
            label: label.to_string(),
            mail: !*optional || !off.iter().any(|(k,)| k == kind),
            optional: *optional,
        })
        .collect())
}

/// Turns one kind's mail on or off (people only; a kind that must be mailed stays on).
pub async fn set_mail_pref(
    st: &AppState,
    actor: &Actor,
    kind: &str,
    mail: bool,
) -> Result<(), AppError> {
    actor.person("change mail settings")?;
    match MAIL_KINDS.iter().find(|(k, _, _)| *k == kind) {
        None => return Err(AppError::invalid("kind", "There is no such notification.")),
        Some((_, label, false)) if !mail => {
            return Err(AppError::invalid(
                "kind",
                format!("“{label}” is always mailed: it can stop your uploads."),
            ));
        }
        Some(_) => {}
    }
    sqlx::query(
        "INSERT INTO notification_prefs (user_id, kind, mail) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, kind) DO UPDATE SET mail = excluded.mail",
    )
    .bind(actor.user_id())
    .bind(kind)
    .bind(i32::from(mail))
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// Queues a mail to an address (not a notification: sign-in links, which go to whoever owns
/// the address), in the caller's transaction.
pub async fn queue_mail(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    to: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, to_addr, subject, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Brings the mailer's next run forward to now (when SMTP is set up).
pub async fn wake_mailer(st: &AppState) -> Result<(), AppError> {
    if st.config.smtp_url.is_none() {
        return Ok(());
    }
    jobs::wake(&st.db, SEND_MAIL, st.clock.now_ms()).await
}

/// The mailer: sends due mail over SMTP (up to 100 a run). Returns how many went. Without
/// SMTP it does nothing: the mail stays in the outbox for the outbox page.
pub async fn send_pending(st: &AppState) -> Result<usize, AppError> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let Some(url) = st.config.smtp_url.as_deref() else {
        return Ok(0);
    };
    let now = st.clock.now_ms();
    let due: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, to_addr, subject, body, CAST(attempts AS BIGINT) FROM mail_outbox
         WHERE sent_at IS NULL AND attempts < $1 AND created_at <= $2
         ORDER BY created_at LIMIT 100",
    )
    .bind(MAX_MAIL_TRIES)
    .bind(now)
    .fetch_all(&st.db.pool)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    // The URL holds the SMTP password: errors about it never quote it.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|_| AppError::internal("NEXUS_SMTP_URL is not a valid SMTP URL"))?
        .build();
    let from: lettre::message::Mailbox = st
        .config
        .mail_from
        .parse()
        .map_err(|_| AppError::internal("NEXUS_MAIL_FROM is not a valid address"))?;
    let mut sent = 0;
    for (id, to, subject, body, attempts) in due {
        let outcome = match to.parse::<lettre::message::Mailbox>() {
            Err(e) => Err(format!("bad address: {e}")),
            Ok(to) => match Message::builder()
                // One Message-ID per outbox row, the same on every try: a mail sent again
                // after a crash between SMTP's "accepted" and our record of it is the same
                // message to the receiving server and the reader's mail app.
                .message_id(Some(format!("<{id}@{}>", from.email.domain())))
                .from(from.clone())
                .to(to)
                .subject(subject)
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(body)
            {
                Err(e) => Err(e.to_string()),
                Ok(m) => transport
                    .send(m)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            },
        };
        let now = st.clock.now_ms();
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2",
                )
                .bind(now)
                .bind(&id)
                .execute(&st.db.pool)
                .await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(mail = %id, error = %e, "mail not sent; will retry");
                // Next try after 2^attempts minutes (created_at doubles as "not before").
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, created_at = $2
                     WHERE id = $3",
                )
                .bind(e)
                .bind(now + (60_000i64 << attempts.clamp(0, 10)))
                .bind(&id)
                .execute(&st.db.pool)
                .await?;
            }
        }
    }
    Ok(sent)
}

/// The actor's latest notifications (50), newest first.
pub async fn list(st: &AppState, actor: &Actor) -> Result<Vec<Notification>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, title, body, link, created_at, read_at FROM notifications
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(actor.user_id())
    .fetch_all(&st.db.pool)
    .await?)
}

pub async fn unread_count(st: &AppState, actor: &Actor) -> Result<i64, AppError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(actor.user_id())
    .fetch_one(&st.db.pool)
    .await?;
    Ok(n)
}

/// Marks the actor's notifications read (all of them, or these).
pub async fn mark_read(
    st: &AppState,
    actor: &Actor,
    ids: Option<Vec<String>>,
) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    match ids {
        None => {
            sqlx::query(
                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
            )
            .bind(now)
            .bind(actor.user_id())
            .execute(&st.db.pool)
            .await?;
        }
        Some(ids) => {
            crate::files::check_id_list("ids", ids.len(), 100)?;
            for id in &ids {
                sqlx::query(
                    "UPDATE notifications SET read_at = $1
                     WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .bind(actor.user_id())
                .execute(&st.db.pool)
                .await?;
            }
        }
    }
    Ok(())
}

/// Mail addressed to the actor (latest 50). Only without SMTP (development): with SMTP the
/// mail goes to the inbox it was meant for.
pub async fn outbox(st: &AppState, actor: &Actor) -> Result<Vec<Mail>, AppError> {
    if st.config.smtp_url.is_some() {
        return Err(AppError::NotFound);
    }
    Ok(sqlx::query_as(
        "SELECT m.id, m.to_addr, m.subject, m.body, m.created_at FROM mail_outbox m
         JOIN users u ON u.email = m.to_addr
         WHERE u.id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT 50",
    )
    .bind(actor.user_id())
    .fetch_all(&st.db.pool)
    .await?)
}

/// The mailer's job: sends the outbox over SMTP (every 30 s, and when woken).
pub const SEND_MAIL: &str = "send_mail";

/// Runs [`SEND_MAIL`].
pub async fn send_mail_job(st: &AppState, _job: &jobs::Job) -> Result<jobs::Next, AppError> {
    let now = st.clock.now_ms();
    send_pending(st).await?;
    Ok(jobs::Next::At(now + 30_000))
}
