//! File names are names, never paths: `..`, `/`, `\`, NUL and other control characters, and
//! names over 255 characters (a 1,000-byte one) are refused with 422 naming the field; right-
//! to-left text, a right-to-left override and emoji are kept exactly. Whatever the name, the
//! object's key is the server's (`ws/<workspace>/<vault>/<file id>`), and the download's
//! Content-Disposition carries the name quoted and UTF-8 encoded.
use crate::support::{TestApp, upload};

#[tokio::test]
async fn names_stay_names_and_never_become_paths() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let vault = c.sign_up("names@example.com").await;
    let long = "é".repeat(500); // 1,000 bytes, 500 characters
    for bad in [
        "..",
        ".",
        "a/b",
        "../etc/passwd",
        "a\\b",
        "a\u{0}b",
        "a\nb",
        "\u{7}",
        "",
        "   ",
        long.as_str(),
    ] {
        let r = c.start_upload(&vault, bad, "1", "text/plain").await;
        assert_eq!(r.status, 422, "{bad:?}: {:?}", r.body);
        assert!(r.body.to_string().contains("name"), "{bad:?}: {:?}", r.body);
    }
    let (ws,): (String,) = sqlx::query_as("SELECT workspace_id FROM vaults WHERE id = $1")
        .bind(&vault)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for good in [
        "שלום עולם.txt",
        "\u{202e}gpj.exe",
        "📦 box 🧊.bin",
        "..hidden",
        "a..b",
        "“quoted” & <b>.txt",
    ] {
        let f = upload(&c, &vault, good, good.as_bytes()).await;
        assert_eq!(f["name"], good, "{good:?}");
        let id = f["id"].as_str().unwrap();
        let key = app.s3_key_of(id).await;
        assert_eq!(key, format!("ws/{ws}/{vault}/{id}"), "{good:?}");
        let r = c.get(&format!("/files/{id}/download")).await;
        let to = r.headers()["location"].to_str().unwrap().to_string();
        let got = reqwest::get(&to).await.unwrap();
        let cd = got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(cd.starts_with("attachment; filename=\""), "{cd}");
        assert!(cd.contains("filename*=UTF-8''"), "{cd}");
        assert!(!cd.contains('/') || cd.contains("%2F"), "{cd}");
    }
}
