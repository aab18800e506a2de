//! Download links with their checksum manifests.
use crate::files::DownloadLink;
use crate::format;
use leptos::prelude::*;

/// Download links with a SHA-256 manifest (`SHA256SUMS.txt`, as `sha256sum -c` reads it);
/// files that cannot be fetched now say why.
#[component]
pub fn LinkList(links: Vec<DownloadLink>) -> impl IntoView {
    let list = links;
    // A manifest as `sha256sum -c` reads it: "<sum>  <path>" a line, dashes where a file has
    // no such sum.
    let manifest = |sum: &dyn Fn(&DownloadLink) -> Option<String>, dashes: usize| {
        let text: String = list
            .iter()
            .map(|l| {
                let path = if l.path.is_empty() {
                    l.name.clone()
                } else {
                    format!("{}/{}", l.path, l.name)
                };
                format!("{}  {path}\n", sum(l).unwrap_or_else(|| "-".repeat(dashes)))
            })
            .collect();
        format!(
            "data:text/plain;charset=utf-8,{}",
            urlencoding::encode(&text)
        )
    };
    let href = manifest(&|l| l.sha256.clone(), 64);
    // The CRC64NVME of each whole file, as storage verified it (base64, as S3's
    // x-amz-checksum-crc64nvme carries it): every file uploaded since full-object checksums.
    let crc_href = manifest(&|l| l.crc64nvme.clone(), 12);
    let ready = list.iter().filter(|l| l.url.is_some()).count();
    view! {
        <p>{format!("{} ready. Each link works for a few minutes.", format::count(ready as i64, "file", "files"))}</p>
        <p>
            <a href=href download="SHA256SUMS.txt" class="button secondary small">"Download manifest (SHA-256 sums)"</a>" "
            <a href=crc_href download="CRC64NVME.txt" class="button secondary small">"Download manifest (CRC64NVME)"</a>
        </p>
        <p class="muted small">"Storage verified each file's CRC64NVME when it was uploaded, and reports it again on a GET with x-amz-checksum-mode: ENABLED. The SHA-256 sums were computed by the browser that uploaded each file (files without one show dashes)."</p>
        <ul class="link-list">
            {list.into_iter().map(|l| {
                let path = if l.path.is_empty() { l.name.clone() } else { format!("{}/{}", l.path, l.name) };
                match l.url {
                    Some(u) => view! { <li><a href=u rel="external" download=l.name.clone()>{path}</a>" · "{format::bytes(l.size)}</li> }.into_any(),
                    None => view! { <li>{path}" — "<span class="muted">{l.reason.unwrap_or_default()}</span></li> }.into_any(),
                }
            }).collect_view()}
        </ul>
    }
}
