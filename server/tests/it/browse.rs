//! The file browser's services on the test database (SQLite, or PostgreSQL when the suite
//! runs there): sort orders and keyset pages, stability under inserts, name search and each
//! filter, folder rules, trash and purge, bulk jobs, vault totals and deletion, and that
//! user B reaches none of user A's vaults, folders, files or search results.
use crate::support::{PASSWORD, TestApp, random_bytes, upload};
use app::core::{Actor, AppState};
use app::error::AppError;
use app::files::service as files;
use app::files::{BulkOutcome, ListQuery, Selection, Sort};
use app::jobs;
use app::vaults::service as vaults;

async fn account(st: &AppState, email: &str) -> (Actor, String) {
    app::auth::service::sign_up(st, email, PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    let s = app::auth::service::sign_in(st, email, PASSWORD, "10.0.0.1", "test")
        .await
        .unwrap();
    let (actor, _) = app::auth::service::session_user(st, &s.token)
        .await
        .unwrap()
        .unwrap();
    let vault_id = vaults::list_vaults(&st.db, &actor).await.unwrap()[0]
        .id
        .clone();
    (actor, vault_id)
}

/// A file row straight into the database (no object): for listing tests.
struct Seed<'a> {
    name: &'a str,
    size: i64,
    class: &'a str,
    state: &'a str,
    updated_at: i64,
    content_type: &'a str,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Seed {
            name: "x",
            size: 1,
            class: "STANDARD",
            state: "available",
            updated_at: 1_000,
            content_type: "application/octet-stream",
        }
    }
}

/// Files with these names and nothing else set (the defaults).
async fn seed_names<S: AsRef<str>>(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    folder: Option<&str>,
    names: &[S],
) -> Vec<String> {
    let rows: Vec<Seed> = names
        .iter()
        .map(|n| Seed {
            name: n.as_ref(),
            ..Default::default()
        })
        .collect();
    seed(st, actor, vault_id, folder, &rows).await
}

async fn seed(
    st: &AppState,
    actor: &Actor,
    vault_id: &str,
    folder: Option<&str>,
    rows: &[Seed<'_>],
) -> Vec<String> {
    let ws: (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(vault_id)
        .fetch_one(&st.db.pool)
        .await
        .unwrap();
    let mut tx = st.db.begin().await.unwrap();
    let mut ids = vec![];
    for r in rows {
        let id = app::core::new_id();
        sqlx::query(
            "INSERT INTO files (id, workspace_id, vault_id, folder_id, name, size, content_type, s3_key,
                storage_class, state, created_by, created_at, updated_at, class_changed_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $13)",
        )
        .bind(&id)
        .bind(&ws.0)
        .bind(vault_id)
        .bind(folder)
        .bind(r.name)
        .bind(r.size)
        .bind(r.content_type)
        .bind(format!("seed/{id}"))
        .bind(r.class)
        .bind(r.state)
        .bind(actor.user_id())
        .bind(r.updated_at)
        .bind(app::files::kind_of(r.content_type, r.name))
        .execute(&mut *tx)
        .await
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

fn q(vault_id: &str) -> ListQuery {
    ListQuery {
        vault_id: vault_id.into(),
        ..Default::default()
    }
}

/// Every row of a view, page by page; returns (keys in order, number of pages).
async fn walk(st: &AppState, actor: &Actor, query: &ListQuery, limit: i64) -> (Vec<String>, usize) {
    let mut keys = vec![];
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let p = files::list_page(&st.db, actor, query, cursor.as_deref(), limit)
            .await
            .unwrap();
        pages += 1;
        assert!(p.folders.len() + p.files.len() <= limit as usize);
        keys.extend(p.folders.iter().map(|d| format!("d:{}", d.name)));
        keys.extend(p.files.iter().map(|f| f.name.clone()));
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 1000, "paging does not end");
    }
    (keys, pages)
}

async fn names(st: &AppState, actor: &Actor, query: &ListQuery) -> Vec<String> {
    let mut n = walk(st, actor, query, 500).await.0;
    n.sort();
    n
}

#[tokio::test]
#[allow(clippy::type_complexity)]
async fn every_sort_order_pages_by_keyset_with_folders_first_and_nothing_lost_or_repeated() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "sort@example.com").await;
    for name in ["Zeta", "alpha", "Mid"] {
        files::create_folder(st, &a, &vault, "", name)
            .await
            .unwrap();
    }
    let classes = app::vaults::STORAGE_CLASSES;
    let states = ["available", "archived", "restoring", "restored"];
    let rows: Vec<(String, i64, &str, &str, i64)> = (0..120)
        .map(|i| {
            (
                format!("file-{:03}.bin", (i * 37) % 120),
                // Ties on purpose: the id breaks them.
                (i % 7) * 1000,
                classes[i as usize % 5],
                states[i as usize % 4],
                1_000 + (i % 11) * 60_000,
            )
        })
        .collect();
    let seeds: Vec<Seed> = rows
        .iter()
        .map(|(n, s, c, st, u)| Seed {
            name: n,
            size: *s,
            class: c,
            state: st,
            updated_at: *u,
            ..Default::default()
        })
        .collect();
    let ids = seed(st, &a, &vault, None, &seeds).await;

    for sort in Sort::ALL {
        for desc in [false, true] {
            let query = ListQuery {
                sort,
                desc,
                ..q(&vault)
            };
            let (keys, pages) = walk(st, &a, &query, 17).await;
            assert_eq!(pages, (3 + 120usize).div_ceil(17), "{sort:?} {desc}");
            // Folders first, by name (descending only when the sort is by name, descending).
            let mut folders = vec!["d:Mid", "d:Zeta", "d:alpha"];
            if sort == Sort::Name && desc {
                folders.reverse();
            }
            assert_eq!(&keys[..3], folders.as_slice(), "{sort:?} {desc}");
            // Files in the sort order, ties by id, exactly once each.
            let mut want: Vec<(usize, &(String, i64, &str, &str, i64))> =
                rows.iter().enumerate().collect();
            want.sort_by(|(i, x), (j, y)| {
                let o = match sort {
                    Sort::Name => x.0.cmp(&y.0),
                    Sort::Size => x.1.cmp(&y.1),
                    Sort::Class => x.2.cmp(y.2),
                    Sort::State => x.3.cmp(y.3),
                    Sort::Modified => x.4.cmp(&y.4),
                }
                .then(ids[*i].cmp(&ids[*j]));
                if desc { o.reverse() } else { o }
            });
            let want: Vec<String> = want.into_iter().map(|(_, r)| r.0.clone()).collect();
            assert_eq!(keys[3..].to_vec(), want, "{sort:?} {desc}");
        }
    }
    // The first page counts the whole view.
    let p = files::list_page(&st.db, &a, &q(&vault), None, 10)
        .await
        .unwrap();
    assert_eq!((p.folder_count, p.file_count), (Some(3), Some(120)));
    // A cursor that is not one of ours is refused.
    let bad = files::list_page(&st.db, &a, &q(&vault), Some("not-a-cursor"), 10).await;
    assert!(matches!(bad, Err(AppError::Invalid { .. })), "{bad:?}");
}

#[tokio::test]
async fn pages_stay_stable_while_files_are_added() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "stable@example.com").await;
    let names: Vec<String> = (0..100).map(|i| format!("n{:03}", i * 2)).collect();
    seed_names(st, &a, &vault, None, &names).await;
    let query = q(&vault);
    let first = files::list_page(&st.db, &a, &query, None, 30)
        .await
        .unwrap();
    let seen: Vec<String> = first.files.iter().map(|f| f.name.clone()).collect();
    assert_eq!(seen.last().unwrap(), "n058");
    // New files land before and after the cursor.
    let added = ["n001", "n033", "n059", "n061", "n199"];
    seed_names(st, &a, &vault, None, &added).await;
    let mut rest = vec![];
    let mut cursor = first.next.clone();
    while let Some(c) = cursor {
        let p = files::list_page(&st.db, &a, &query, Some(&c), 30)
            .await
            .unwrap();
        rest.extend(p.files.iter().map(|f| f.name.clone()));
        cursor = p.next;
    }
    // Nothing seen twice, nothing that existed skipped; the new ones after the cursor show.
    let mut all: Vec<String> = seen.iter().chain(rest.iter()).cloned().collect();
    let len = all.len();
    all.dedup();
    assert_eq!(all.len(), len, "no repeats");
    for n in &names {
        assert!(all.contains(n), "{n} was skipped");
    }
    for n in ["n059", "n061", "n199"] {
        assert!(rest.contains(&n.to_string()));
    }
    assert!(!rest.contains(&"n001".to_string()) && !rest.contains(&"n033".to_string()));
}

#[tokio::test]
async fn name_search_finds_substrings_and_prefixes_in_any_case_in_the_folder_or_the_vault() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "search@example.com").await;
    let trip = files::create_folder(st, &a, &vault, "", "Trip")
        .await
        .unwrap();
    let seeds = |v: &'static [&'static str]| {
        v.iter()
            .map(|n| Seed {
                name: n,
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };
    seed(
        st,
        &a,
        &vault,
        None,
        &seeds(&[
            "Holiday-Photo-001.JPG",
            "budget 100%.xlsx",
            "a_b.txt",
            "axb.txt",
            "Überweisung.pdf",
        ]),
    )
    .await;
    seed(
        st,
        &a,
        &vault,
        Some(&trip.id),
        &seeds(&["holiday notes.txt", "PHOTO-002.jpg", "ud.txt"]),
    )
    .await;

    let search = |text: &str, everywhere: bool, path: &str| ListQuery {
        q: text.into(),
        everywhere,
        path: path.into(),
        ..q(&vault)
    };
    // Substring, any case, in the folder.
    assert_eq!(
        names(st, &a, &search("photo", false, "")).await,
        ["Holiday-Photo-001.JPG"]
    );
    // … and across the vault, with the folder path on each result.
    assert_eq!(
        names(st, &a, &search("photo", true, "")).await,
        ["Holiday-Photo-001.JPG", "PHOTO-002.jpg"]
    );
    let p = files::list_page(&st.db, &a, &search("photo-002", true, ""), None, 10)
        .await
        .unwrap();
    assert_eq!(p.files[0].folder_path, "Trip");
    // Prefix, any case.
    assert_eq!(
        names(st, &a, &search("HOLI", true, "")).await,
        ["Holiday-Photo-001.JPG", "holiday notes.txt"]
    );
    // Searching inside a folder stays there.
    assert_eq!(
        names(st, &a, &search("holi", false, "Trip")).await,
        ["holiday notes.txt"]
    );
    // Short terms (under a trigram) still match.
    assert_eq!(
        names(st, &a, &search("ud", true, "")).await,
        ["budget 100%.xlsx", "ud.txt"]
    );
    // LIKE wildcards are plain characters.
    assert_eq!(names(st, &a, &search("a_b", true, "")).await, ["a_b.txt"]);
    assert_eq!(
        names(st, &a, &search("100%", true, "")).await,
        ["budget 100%.xlsx"]
    );
    // Quotes do not break the query.
    assert!(
        names(st, &a, &search("\"x\" OR 1", true, ""))
            .await
            .is_empty()
    );
    // Non-ASCII names.
    assert_eq!(
        names(st, &a, &search("überw", true, "")).await,
        ["Überweisung.pdf"]
    );
    // A search lists files only, and counts them.
    let p = files::list_page(&st.db, &a, &search("txt", true, ""), None, 10)
        .await
        .unwrap();
    assert!(p.folders.is_empty());
    assert_eq!(p.file_count, Some(4));
    // Renamed files are found by their new name only.
    let hit = files::list_page(&st.db, &a, &search("axb", true, ""), None, 10)
        .await
        .unwrap();
    files::rename_file(st, &a, &hit.files[0].id, "renamed.txt")
        .await
        .unwrap();
    assert!(names(st, &a, &search("axb", true, "")).await.is_empty());
    assert_eq!(
        names(st, &a, &search("renamed", true, "")).await,
        ["renamed.txt"]
    );
}

#[tokio::test]
async fn each_filter_narrows_the_view() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "filters@example.com").await;
    let day = 86_400_000;
    let jan1 = app::files::parse_day("2026-01-01").unwrap();
    seed(
        st,
        &a,
        &vault,
        None,
        &[
            Seed {
                name: "pic.jpg",
                size: 2_000_000,
                content_type: "image/jpeg",
                updated_at: jan1,
                ..Default::default()
            },
            Seed {
                name: "clip.mov",
                size: 50_000_000,
                content_type: "video/quicktime",
                class: "DEEP_ARCHIVE",
                state: "archived",
                updated_at: jan1 + 10 * day,
            },
            Seed {
                name: "song.flac",
                size: 30_000_000,
                content_type: "audio/flac",
                class: "GLACIER",
                state: "restoring",
                updated_at: jan1 + 20 * day,
            },
            Seed {
                name: "notes.pdf",
                size: 100_000,
                content_type: "application/pdf",
                class: "STANDARD_IA",
                updated_at: jan1 + 30 * day,
                ..Default::default()
            },
            Seed {
                name: "backup.tar.gz",
                size: 900_000_000,
                content_type: "application/gzip",
                class: "DEEP_ARCHIVE",
                state: "restored",
                updated_at: jan1 + 40 * day,
            },
            Seed {
                name: "blob.bin",
                size: 10,
                updated_at: jan1 + 50 * day,
                ..Default::default()
            },
        ],
    )
    .await;
    let f = |tune: &dyn Fn(&mut ListQuery)| {
        let mut query = q(&vault);
        tune(&mut query);
        query
    };
    assert_eq!(
        names(st, &a, &f(&|q| q.class = "DEEP_ARCHIVE".into())).await,
        ["backup.tar.gz", "clip.mov"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.state = "restoring".into())).await,
        ["song.flac"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "image".into())).await,
        ["pic.jpg"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "video".into())).await,
        ["clip.mov"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "audio".into())).await,
        ["song.flac"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "document".into())).await,
        ["notes.pdf"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "archive".into())).await,
        ["backup.tar.gz"]
    );
    assert_eq!(
        names(st, &a, &f(&|q| q.kind = "other".into())).await,
        ["blob.bin"]
    );
    assert_eq!(
        names(
            st,
            &a,
            &f(&|q| {
                q.min_size = Some(1_000_000);
                q.max_size = Some(50_000_000)
            })
        )
        .await,
        ["clip.mov", "pic.jpg", "song.flac"]
    );
    assert_eq!(
        names(
            st,
            &a,
            &f(&|q| {
                q.from = "2026-01-11".into();
                q.to = "2026-01-31".into()
            })
        )
        .await,
        ["clip.mov", "notes.pdf", "song.flac"]
    );
    // Filters combine.
    assert_eq!(
        names(
            st,
            &a,
            &f(&|q| {
                q.class = "DEEP_ARCHIVE".into();
                q.q = "clip".into()
            })
        )
        .await,
        ["clip.mov"]
    );
    // Nonsense is refused with the field named.
    for bad in [
        f(&|q| q.class = "COLD".into()),
        f(&|q| {
            q.min_size = Some(10);
            q.max_size = Some(1)
        }),
        f(&|q| q.from = "01/02/2026".into()),
    ] {
        let r = files::list_page(&st.db, &a, &bad, None, 10).await;
        assert!(matches!(r, Err(AppError::Invalid { .. })), "{r:?}");
    }
    // The URL form of a view reads back the same.
    let view = f(&|q| {
        q.class = "GLACIER".into();
        q.min_size = Some(2_500_000);
        q.sort = Sort::Size;
        q.desc = true;
        q.path = "a/b".into()
    });
    let qs = view.to_query_string();
    let pairs: Vec<(String, String)> = qs
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), urlencoding::decode(v).unwrap().into_owned())
        })
        .collect();
    let back = ListQuery::from_pairs(&vault, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(back, view);
}

#[tokio::test]
async fn folders_cannot_move_into_themselves_and_names_stay_unique_in_a_folder() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "folders@example.com").await;
    let top = files::create_folder(st, &a, &vault, "", "a").await.unwrap();
    files::create_folder(st, &a, &vault, "a", "b")
        .await
        .unwrap();
    let c = files::create_folder(st, &a, &vault, "a/b", "c")
        .await
        .unwrap();
    files::create_folder(st, &a, &vault, "", "other")
        .await
        .unwrap();
    seed(
        st,
        &a,
        &vault,
        Some(&c.id),
        &[Seed {
            name: "deep.txt",
            ..Default::default()
        }],
    )
    .await;
    seed(
        st,
        &a,
        &vault,
        None,
        &[
            Seed {
                name: "top.txt",
                ..Default::default()
            },
            Seed {
                name: "taken.txt",
                ..Default::default()
            },
        ],
    )
    .await;

    // No cycles.
    for target in ["a", "a/b", "a/b/c"] {
        let r = files::move_folder(st, &a, &top.id, target, "a").await;
        assert!(
            matches!(r, Err(AppError::Invalid { .. })),
            "{target}: {r:?}"
        );
    }
    // No duplicate names: folders, and a folder named like a file.
    let r = files::create_folder(st, &a, &vault, "", "other").await;
    assert!(matches!(r, Err(AppError::Conflict { .. })), "{r:?}");
    let r = files::create_folder(st, &a, &vault, "", "top.txt").await;
    assert!(matches!(r, Err(AppError::Conflict { .. })), "{r:?}");
    let r = files::move_folder(st, &a, &top.id, "", "other").await;
    assert!(matches!(r, Err(AppError::Conflict { .. })), "{r:?}");
    // A file cannot take a name in use either.
    let top_file = names_ids(st, &a, &vault, "top.txt").await;
    let r = files::rename_file(st, &a, &top_file, "taken.txt").await;
    assert!(matches!(r, Err(AppError::Conflict { .. })), "{r:?}");
    // Missing parents are an error, not a silent new tree.
    let r = files::create_folder(st, &a, &vault, "nope/nothing", "x").await;
    assert!(matches!(r, Err(AppError::Invalid { .. })), "{r:?}");

    // Moving a folder carries its subtree; its files list under the new path.
    let moved = files::move_folder(st, &a, &top.id, "other", "renamed")
        .await
        .unwrap();
    assert_eq!(moved.path, "other/renamed");
    let deep = files::list_page(
        &st.db,
        &a,
        &ListQuery {
            path: "other/renamed/b/c".into(),
            ..q(&vault)
        },
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(deep.files.len(), 1);
    assert_eq!(deep.files[0].folder_path, "other/renamed/b/c");
    let gone = files::list_page(
        &st.db,
        &a,
        &ListQuery {
            path: "a/b".into(),
            ..q(&vault)
        },
        None,
        10,
    )
    .await;
    assert!(matches!(gone, Err(AppError::Invalid { .. })), "{gone:?}");

    // Moving files into a folder that has the name already keeps both.
    let other = files::find_folder(&st.db, &vault, "other").await.unwrap();
    seed(
        st,
        &a,
        &vault,
        other.as_deref(),
        &[Seed {
            name: "taken.txt",
            ..Default::default()
        }],
    )
    .await;
    let taken = names_ids(st, &a, &vault, "taken.txt").await;
    let out = app::files::bulk::apply(
        st,
        &a,
        app::files::bulk::BulkAction::Move { to: "other".into() },
        Selection {
            vault_id: vault.clone(),
            file_ids: vec![taken],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Done {
            files: 1,
            folders: 0
        }
    );
    let in_other = names(
        st,
        &a,
        &ListQuery {
            path: "other".into(),
            ..q(&vault)
        },
    )
    .await;
    assert_eq!(in_other, ["d:renamed", "taken (2).txt", "taken.txt"]);
}

/// The id of the live file of this name in the vault's top level.
async fn names_ids(st: &AppState, a: &Actor, vault: &str, name: &str) -> String {
    let p = files::list_page(
        &st.db,
        a,
        &ListQuery {
            q: name.into(),
            everywhere: true,
            ..q(vault)
        },
        None,
        50,
    )
    .await
    .unwrap();
    p.files.into_iter().find(|f| f.name == name).unwrap().id
}

#[tokio::test]
async fn trash_keeps_files_for_a_week_restores_them_where_they_were_then_purges_the_objects() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let c = app.client();
    let vault = c.sign_up("trash@example.com").await;
    let (a, _) = {
        let user = c.current_user().await;
        let id = user["id"].as_str().unwrap().to_string();
        (Actor::job_for(&id), ())
    };
    let bytes = random_bytes(3000);
    let kept = upload(&c, &vault, "kept.bin", &bytes).await;
    let start = c
        .start_upload_with(serde_json::json!({"vault_id": vault, "name": "deep.bin", "size": 100, "folder_path": "x/y"}))
        .await;
    assert_eq!(start.status, 200);
    let deep_upload = start.body["upload_id"].as_str().unwrap().to_string();
    let deep_bytes = random_bytes(100);
    let parts = crate::support::send_parts(&c, &deep_upload, 8 << 20, &deep_bytes, &[1]).await;
    let deep = c
        .complete(
            &deep_upload,
            &deep_bytes,
            &serde_json::Value::Array(parts),
            None,
        )
        .await
        .body;
    let v = vaults::get_vault(&st.db, &a, &vault).await.unwrap();
    assert_eq!((v.file_count, v.total_bytes), (2, 3100));

    // Delete the file and the folder "x" (with y and deep.bin in it).
    let x = files::find_folder(&st.db, &vault, "x")
        .await
        .unwrap()
        .unwrap();
    let out = app::files::bulk::apply(
        st,
        &a,
        app::files::bulk::BulkAction::Trash,
        Selection {
            vault_id: vault.clone(),
            file_ids: vec![kept["id"].as_str().unwrap().into()],
            folder_ids: vec![x],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Done {
            files: 2,
            folders: 1
        }
    );
    assert!(
        walk(st, &a, &q(&vault), 50).await.0.is_empty(),
        "the view is empty"
    );
    let v = vaults::get_vault(&st.db, &a, &vault).await.unwrap();
    assert_eq!((v.file_count, v.total_bytes), (0, 0));
    let trash = files::list_trash(&st.db, &a).await.unwrap();
    let mut where_from: Vec<(String, String)> = trash
        .iter()
        .map(|t| (t.path.clone(), t.name.clone()))
        .collect();
    where_from.sort();
    assert_eq!(
        where_from,
        [
            ("".to_string(), "kept.bin".to_string()),
            ("x/y".to_string(), "deep.bin".to_string())
        ]
    );

    // Restoring makes the folders again.
    let deep_id = deep["id"].as_str().unwrap().to_string();
    assert_eq!(
        files::restore_files(st, &a, std::slice::from_ref(&deep_id))
            .await
            .unwrap(),
        1
    );
    let back = files::list_page(
        &st.db,
        &a,
        &ListQuery {
            path: "x/y".into(),
            ..q(&vault)
        },
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(back.files[0].name, "deep.bin");
    let details = files::file_details(&st.db, &a, &deep_id).await.unwrap();
    let kinds: Vec<&str> = details.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["uploaded", "trashed", "restored"]);

    // A deletion for good cut short (storage failing, the process killed) leaves its file
    // marked: it cannot come back from the trash (its object may be gone), and the next run of
    // the purge job finishes it without waiting for the week.
    let cut = upload(&c, &vault, "cut.bin", &random_bytes(10)).await;
    let cut_id = cut["id"].as_str().unwrap().to_string();
    app::files::bulk::apply(
        st,
        &a,
        app::files::bulk::BulkAction::Trash,
        Selection {
            vault_id: vault.clone(),
            file_ids: vec![cut_id.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE files SET state = 'deleted' WHERE id = $1")
        .bind(&cut_id)
        .execute(&st.db.pool)
        .await
        .unwrap();
    assert!(
        files::list_trash(&st.db, &a)
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == cut_id && t.state == "deleted"),
        "the trash shows it is being deleted"
    );
    assert_eq!(
        files::restore_files(st, &a, std::slice::from_ref(&cut_id))
            .await
            .unwrap(),
        0
    );
    assert_eq!(files::purge_expired_trash(st).await.unwrap(), 1);
    assert!(files::file_details(&st.db, &a, &cut_id).await.is_err());

    // A week and a bit later the purge job deletes kept.bin's object and row.
    let key = format!(
        "ws/{}/{}/{}",
        v.workspace_id,
        vault,
        kept["id"].as_str().unwrap()
    );
    assert!(st.storage.head(&key).await.unwrap().is_some());
    app.clock.advance_ms(6 * 86_400_000);
    assert_eq!(files::purge_expired_trash(st).await.unwrap(), 0, "not yet");
    app.clock.advance_ms(86_400_000 + 1000);
    jobs::enqueue(
        &st.db,
        jobs::PURGE_TRASH,
        Some("purge-now"),
        "{}",
        st.clock.now_ms(),
        st.clock.now_ms(),
    )
    .await
    .unwrap();
    jobs::run_due(st, "w").await.unwrap();
    assert!(
        st.storage.head(&key).await.unwrap().is_none(),
        "object deleted"
    );
    assert!(files::list_trash(&st.db, &a).await.unwrap().is_empty());
    // The workspace's audit log says the app did it.
    let (who, detail): (String, String) = sqlx::query_as(
        "SELECT COALESCE(user_id, ''), detail FROM audit_log WHERE action = 'file.purge' AND workspace_id = $1
         ORDER BY at DESC LIMIT 1",
    )
    .bind(&v.workspace_id)
    .fetch_one(&st.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (who.as_str(), detail.as_str()),
        ("", "1 files deleted for good after 7 days in the trash")
    );
    // The restored file is untouched.
    assert_eq!(
        walk(
            st,
            &a,
            &ListQuery {
                everywhere: true,
                ..q(&vault)
            },
            50
        )
        .await
        .0,
        ["deep.bin"]
    );
}

#[tokio::test]
async fn a_selection_over_ten_thousand_files_runs_as_a_job_that_resumes_and_finishes_once() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "bulk@example.com").await;
    // Sign-up queued its confirmation mail (a mailer job when SMTP is set): sent first, so the
    // job claimed below is the bulk action's.
    jobs::run_due(st, "w").await.unwrap();
    let src = files::create_folder(st, &a, &vault, "", "src")
        .await
        .unwrap();
    files::create_folder(st, &a, &vault, "", "dst")
        .await
        .unwrap();
    let names: Vec<String> = (0..10_050).map(|i| format!("f{i:05}")).collect();
    seed_names(st, &a, &vault, Some(&src.id), &names).await;
    let view = ListQuery {
        path: "src".into(),
        ..q(&vault)
    };
    let sel = Selection {
        vault_id: vault.clone(),
        all_matching: Some(view.clone()),
        except: vec![],
        ..Default::default()
    };
    let out = app::files::bulk::apply(
        st,
        &a,
        app::files::bulk::BulkAction::Move { to: "dst".into() },
        sel,
    )
    .await
    .unwrap();
    let BulkOutcome::Queued { op_id, total } = out else {
        panic!("{out:?}")
    };
    assert_eq!(total, 10_050);
    // One run does part of it and asks to run again; progress shows.
    let job = jobs::claim(&st.db, "w", st.clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    let next = jobs::run(st, &job).await.unwrap();
    assert!(matches!(next, jobs::Next::At(_)), "{next:?}");
    let op = app::files::bulk::get_op(st, &a, &op_id).await.unwrap();
    assert_eq!(op.state, "running");
    assert!(op.done > 0 && op.done < 10_050, "part done: {}", op.done);
    // Run the same step again (as after a crash before the job row was updated): nothing
    // is moved twice and the job still ends.
    jobs::run(st, &job).await.unwrap();
    jobs::finish(
        &st.db,
        &job,
        "w",
        Ok(jobs::Next::At(st.clock.now_ms())),
        st.clock.now_ms(),
    )
    .await
    .unwrap();
    jobs::run_due(st, "w").await.unwrap();
    let op = app::files::bulk::get_op(st, &a, &op_id).await.unwrap();
    assert_eq!(
        (op.state.as_str(), op.done, op.total),
        ("done", 10_050, 10_050)
    );
    let moved = files::list_page(
        &st.db,
        &a,
        &ListQuery {
            path: "dst".into(),
            ..q(&vault)
        },
        None,
        1,
    )
    .await
    .unwrap();
    assert_eq!(moved.file_count, Some(10_050));
    let left = files::list_page(&st.db, &a, &view, None, 1).await.unwrap();
    assert_eq!(left.file_count, Some(0));
    // Someone else cannot see the job.
    let (b, _) = account(st, "bulk-b@example.com").await;
    assert_eq!(
        app::files::bulk::get_op(st, &b, &op_id).await.err(),
        Some(AppError::NotFound)
    );
}

#[tokio::test]
async fn vault_totals_follow_every_change_and_a_vault_is_deleted_only_on_purpose() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "vaults@example.com").await;
    let ids = seed(
        st,
        &a,
        &vault,
        None,
        &[
            Seed {
                name: "a",
                size: 100,
                ..Default::default()
            },
            Seed {
                name: "b",
                size: 200,
                class: "DEEP_ARCHIVE",
                ..Default::default()
            },
            Seed {
                name: "c",
                size: 400,
                state: "uploading",
                ..Default::default()
            },
        ],
    )
    .await;
    let v = vaults::get_vault(&st.db, &a, &vault).await.unwrap();
    assert_eq!((v.file_count, v.total_bytes), (2, 300));
    let classes: Vec<(String, i64, i64)> = v
        .classes
        .iter()
        .map(|c| (c.storage_class.clone(), c.file_count, c.bytes))
        .collect();
    assert_eq!(
        classes,
        [("STANDARD".into(), 1, 100), ("DEEP_ARCHIVE".into(), 1, 200)]
    );
    // A class change and a finished upload move the totals.
    sqlx::query("UPDATE files SET storage_class = 'GLACIER' WHERE id = $1")
        .bind(&ids[0])
        .execute(&st.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE files SET state = 'available' WHERE id = $1")
        .bind(&ids[2])
        .execute(&st.db.pool)
        .await
        .unwrap();
    let v = vaults::get_vault(&st.db, &a, &vault).await.unwrap();
    let classes: Vec<(String, i64, i64)> = v
        .classes
        .iter()
        .map(|c| (c.storage_class.clone(), c.file_count, c.bytes))
        .collect();
    assert_eq!(
        classes,
        [
            ("STANDARD".into(), 1, 400),
            ("GLACIER".into(), 1, 100),
            ("DEEP_ARCHIVE".into(), 1, 200)
        ]
    );

    // New, rename, duplicate names.
    let second = vaults::create_vault(st, &a, "Archive 2026").await.unwrap();
    assert!(matches!(
        vaults::create_vault(st, &a, "archive 2026").await,
        Err(AppError::Conflict { .. })
    ));
    assert!(matches!(
        vaults::rename_vault(st, &a, &second.id, "My vault").await,
        Err(AppError::Conflict { .. })
    ));
    vaults::rename_vault(st, &a, &second.id, "Old scans")
        .await
        .unwrap();
    // An empty vault simply goes.
    assert_eq!(
        vaults::delete_vault(st, &a, &second.id, "").await.unwrap(),
        0
    );
    assert_eq!(vaults::list_vaults(&st.db, &a).await.unwrap().len(), 1);
    // One with files needs its name typed; then everything goes to the trash.
    let r = vaults::delete_vault(st, &a, &vault, "yes").await;
    assert!(matches!(r, Err(AppError::Invalid { .. })), "{r:?}");
    assert_eq!(
        vaults::delete_vault(st, &a, &vault, "My vault")
            .await
            .unwrap(),
        3
    );
    assert!(vaults::list_vaults(&st.db, &a).await.unwrap().is_empty());
    assert_eq!(
        vaults::get_vault(&st.db, &a, &vault).await.err(),
        Some(AppError::NotFound)
    );
    assert_eq!(files::list_trash(&st.db, &a).await.unwrap().len(), 3);
    // Restoring a file brings its vault back.
    files::restore_files(st, &a, &ids[..1]).await.unwrap();
    let v = vaults::get_vault(&st.db, &a, &vault).await.unwrap();
    assert_eq!(v.file_count, 1);
}

#[tokio::test]
async fn early_deletion_fees_are_shown_before_deleting_archived_files() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "fees@example.com").await;
    let now = st.clock.now_ms();
    let day = 86_400_000;
    let gib: i64 = 1 << 30;
    let ids = seed(
        st,
        &a,
        &vault,
        None,
        &[
            Seed {
                name: "deep",
                size: 30 * gib,
                class: "DEEP_ARCHIVE",
                updated_at: now - 60 * day,
                ..Default::default()
            },
            Seed {
                name: "std",
                size: 30 * gib,
                updated_at: now - 60 * day,
                ..Default::default()
            },
            Seed {
                name: "old-glacier",
                size: gib,
                class: "GLACIER",
                updated_at: now - 100 * day,
                ..Default::default()
            },
        ],
    )
    .await;
    let sel = Selection {
        vault_id: vault.clone(),
        file_ids: ids.clone(),
        ..Default::default()
    };
    // Deep Archive: 120 of 180 days left of 30 GiB (+32 KiB) at $0.00099 → 118,800 µ$.
    assert_eq!(files::deletion_fee(st, &a, &sel).await.unwrap(), 118_800);
    let details = files::file_details(&st.db, &a, &ids[1]).await.unwrap();
    assert_eq!(details.monthly_cost_micros, 30 * 23_000);
    // In the trash the fee is still owed when the trash is emptied.
    assert_eq!(files::trash_fee(st, &a).await.unwrap(), 0);
    files::trash_files_checked(st, a.user_id(), &vault, &ids)
        .await
        .unwrap();
    assert_eq!(files::trash_fee(st, &a).await.unwrap(), 118_800);
}

#[tokio::test]
async fn user_b_reaches_none_of_user_a_vaults_folders_files_or_search_results() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, a_vault) = account(st, "owner-a@example.com").await;
    let (b, b_vault) = account(st, "other-b@example.com").await;
    let folder = files::create_folder(st, &a, &a_vault, "", "Secret")
        .await
        .unwrap();
    let ids = seed(
        st,
        &a,
        &a_vault,
        Some(&folder.id),
        &[
            Seed {
                name: "secret-plans.pdf",
                ..Default::default()
            },
            Seed {
                name: "secret-2.pdf",
                ..Default::default()
            },
        ],
    )
    .await;
    seed(
        st,
        &b,
        &b_vault,
        None,
        &[Seed {
            name: "mine.txt",
            ..Default::default()
        }],
    )
    .await;
    let nf = |r: Result<(), AppError>| assert_eq!(r.err(), Some(AppError::NotFound));

    nf(files::list_page(&st.db, &b, &q(&a_vault), None, 10)
        .await
        .map(|_| ()));
    nf(files::list_page(
        &st.db,
        &b,
        &ListQuery {
            q: "secret".into(),
            everywhere: true,
            ..q(&a_vault)
        },
        None,
        10,
    )
    .await
    .map(|_| ()));
    // B's own search across B's vault finds nothing of A's.
    assert!(
        names(
            st,
            &b,
            &ListQuery {
                q: "secret".into(),
                everywhere: true,
                ..q(&b_vault)
            }
        )
        .await
        .is_empty()
    );
    nf(files::find_folders(&st.db, &b, &a_vault, "")
        .await
        .map(|_| ()));
    nf(files::create_folder(st, &b, &a_vault, "", "x")
        .await
        .map(|_| ()));
    nf(files::move_folder(st, &b, &folder.id, "", "Mine")
        .await
        .map(|_| ()));
    nf(files::file_details(&st.db, &b, &ids[0]).await.map(|_| ()));
    nf(files::rename_file(st, &b, &ids[0], "pwned")
        .await
        .map(|_| ()));
    nf(files::thumbnail_upload(st, &b, &ids[0], 100, "image/webp")
        .await
        .map(|_| ()));
    nf(vaults::get_vault(&st.db, &b, &a_vault).await.map(|_| ()));
    nf(vaults::rename_vault(st, &b, &a_vault, "mine now")
        .await
        .map(|_| ()));
    nf(vaults::delete_vault(st, &b, &a_vault, "My vault")
        .await
        .map(|_| ()));
    let bulk = |vault: &str, files: Vec<String>, folders: Vec<String>| Selection {
        vault_id: vault.into(),
        file_ids: files,
        folder_ids: folders,
        ..Default::default()
    };
    use app::files::bulk::{BulkAction, apply, download_links};
    nf(apply(
        st,
        &b,
        BulkAction::Trash,
        bulk(&a_vault, ids.clone(), vec![]),
    )
    .await
    .map(|_| ()));
    nf(download_links(st, &b, bulk(&a_vault, ids.clone(), vec![]))
        .await
        .map(|_| ()));
    nf(
        files::deletion_fee(st, &b, &bulk(&a_vault, ids.clone(), vec![]))
            .await
            .map(|_| ()),
    );
    // A's ids smuggled into B's own vault: nothing of A's moves, and A's folder is not found.
    let r = apply(
        st,
        &b,
        BulkAction::Trash,
        bulk(&b_vault, ids.clone(), vec![]),
    )
    .await
    .unwrap();
    assert_eq!(
        r,
        BulkOutcome::Done {
            files: 0,
            folders: 0
        }
    );
    let r = apply(
        st,
        &b,
        BulkAction::Move { to: "".into() },
        bulk(&b_vault, ids.clone(), vec![]),
    )
    .await
    .unwrap();
    assert_eq!(
        r,
        BulkOutcome::Done {
            files: 0,
            folders: 0
        }
    );
    nf(apply(
        st,
        &b,
        BulkAction::Trash,
        bulk(&b_vault, vec![], vec![folder.id.clone()]),
    )
    .await
    .map(|_| ()));
    let links = download_links(st, &b, bulk(&b_vault, ids.clone(), vec![]))
        .await
        .unwrap();
    assert!(links.is_empty());
    assert_eq!(
        files::deletion_fee(st, &b, &bulk(&b_vault, ids.clone(), vec![]))
            .await
            .unwrap(),
        0
    );
    // A's trash stays A's.
    apply(
        st,
        &a,
        BulkAction::Trash,
        bulk(&a_vault, vec![ids[0].clone()], vec![]),
    )
    .await
    .unwrap();
    assert!(files::list_trash(&st.db, &b).await.unwrap().is_empty());
    nf(files::restore_files(st, &b, &ids[..1]).await.map(|_| ()));
    nf(files::empty_trash(st, &b, Some(&ids[..1]))
        .await
        .map(|_| ()));
    assert_eq!(files::empty_trash(st, &b, None).await.unwrap(), 0);
    // And A still has everything.
    assert_eq!(files::list_trash(&st.db, &a).await.unwrap().len(), 1);
    assert_eq!(
        names(
            st,
            &a,
            &ListQuery {
                path: "Secret".into(),
                ..q(&a_vault)
            }
        )
        .await,
        ["secret-2.pdf"]
    );
}

#[tokio::test]
async fn a_queued_class_change_stops_when_a_downgrade_takes_the_class_away() {
    let app = TestApp::spawn().await;
    let st = &app.state;
    let (a, vault) = account(st, "downgrade@example.com").await;
    jobs::run_due(st, "w").await.unwrap();
    let names: Vec<String> = (0..10_050).map(|i| format!("g{i:05}")).collect();
    seed_names(st, &a, &vault, None, &names).await;
    let sel = Selection {
        vault_id: vault.clone(),
        all_matching: Some(q(&vault)),
        ..Default::default()
    };
    let out = app::files::bulk::apply(
        st,
        &a,
        app::files::bulk::BulkAction::Class {
            to: "GLACIER".into(),
        },
        sel,
    )
    .await
    .unwrap();
    let BulkOutcome::Queued { op_id, .. } = out else {
        panic!("{out:?}")
    };
    sqlx::query("UPDATE plans SET allowed_classes = 'STANDARD,STANDARD_IA' WHERE id = 'pro'")
        .execute(&st.db.pool)
        .await
        .unwrap();
    jobs::run_due(st, "w").await.unwrap();
    let op = app::files::bulk::get_op(st, &a, &op_id).await.unwrap();
    assert_eq!(op.state, "failed", "{op:?}");
    assert_eq!(op.done, 0);
    assert!(
        op.error
            .as_deref()
            .unwrap_or_default()
            .contains("not part of"),
        "{op:?}"
    );
}
