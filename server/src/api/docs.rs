//! `/docs/api`: the API reference as one server-made HTML page, drawn from the generated
//! OpenAPI document (every operation, its parameters, body and answers), with the upload flow
//! in curl and how to verify a webhook. No script and no CDN: it renders under the app's CSP.
use serde_json::Value;

fn esc(s: &str) -> String {
    app::format::html_text(s)
}

/// The schema name a `$ref` points at (`#/components/schemas/Vault` → `Vault`).
fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    match v.get("type").and_then(Value::as_str) {
        Some("array") => format!("[{}]", v.get("items").map(schema_name).unwrap_or_default()),
        Some(t) => t.to_string(),
        None => "object".into(),
    }
}

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

const GUIDE: &str = r#"
<h2 id="auth">Keys</h2>
<p>Make a key on the <a href="/developer">Developer page</a>; send it on every call as
<code>Authorization: Bearer nxs_live_…</code>. A key acts in one workspace with its scopes
(<code>files:read</code>, <code>files:write</code>, <code>restores:write</code>,
<code>billing:read</code>, <code>admin</code>) and, if you chose one, in one vault. A missing
scope is a 403 that names it. Each key may make a number of requests a minute; every answer
says where it stands in <code>RateLimit-Limit</code>, <code>RateLimit-Remaining</code> and
<code>RateLimit-Reset</code>, and a 429 says when to come back in <code>Retry-After</code>.</p>
<h2 id="errors">Errors</h2>
<p>Every error is <code>{"error":{"code":"invalid","message":"…","field":"name"}}</code>: bad
input is a 4xx naming the field, never a 500. Send <code>Idempotency-Key: &lt;your id&gt;</code>
on POSTs that create something: a retry with the same key and body gets the first answer
again (header <code>Idempotent-Replayed: true</code>) and creates nothing twice.</p>
<h2 id="upload">Uploading with curl</h2>
<pre><code>KEY=nxs_live_…; API=https://nexus.example/api/v1
# 1. start (size in bytes; the answer has upload_id, part_size, part_count)
curl -s -X POST $API/uploads -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"vault_id":"VAULT","name":"backup.tar","size":20971520,"content_type":"application/x-tar","folder_path":"2026/12"}'
# 2. for each part: its CRC64NVME (the ticket's checksum_algorithm), base64 of the 8
#    big-endian bytes (awscrt from PyPI computes it)
python3 -c 'import sys,base64;from awscrt import checksums;print(base64.b64encode(checksums.crc64nvme(open(sys.argv[1],"rb").read()).to_bytes(8,"big")).decode())' part1
curl -s -X POST $API/uploads/UPLOAD/parts -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"parts":[{"number":1,"checksum":"CRC"}]}'
# 3. PUT the part's bytes to its url with its headers; keep the ETag the answer carries
curl -s -X PUT --upload-file part1 -H 'x-amz-checksum-crc64nvme: CRC' -D - 'URL'
# 4. complete with every part's ETag (and the file's SHA-256 when the ticket's
#    record_sha256 is true); storage checks the whole file's CRC64NVME, combined from the parts'
curl -s -X POST $API/uploads/UPLOAD/complete -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"sha256":"'$(sha256sum backup.tar | cut -c1-64)'","parts":[{"number":1,"etag":"\"…\""}]}'</code></pre>
<p>Files up to 8 MiB can take one URL: <code>POST /upload-url</code> with the file's CRC64NVME,
PUT the bytes, then complete with part 1. Every file keeps the whole-object CRC64NVME storage
verified (<code>crc64nvme</code> in <code>GET /files/{id}</code>); S3 reports it again on a GET
sent with <code>x-amz-checksum-mode: ENABLED</code>. The <code>nexus</code> CLI does all of this, in
parallel and resumably.</p>
<h2 id="webhooks">Verifying webhooks</h2>
<p>Each delivery is a POST of the event as JSON with <code>Nexus-Signature: t=&lt;unix
seconds&gt;,v1=&lt;hex&gt;</code>, where the hex is HMAC-SHA256 of <code>t + "." + body</code>
with the endpoint's signing secret, and <code>Nexus-Event-Id</code> (retries carry the same id:
handle each id once). Answer 2xx within 10 s; anything else is retried with backoff for 3
days.</p>
<pre><code>import hmac, hashlib, time
def verify(body: bytes, header: str, secret: str, tolerance=300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) &lt;= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])</code></pre>
"#;

/// The page.
pub fn render(spec: &utoipa::openapi::OpenApi) -> String {
    let v = serde_json::to_value(spec).unwrap_or(Value::Null);
    let mut ops = String::new();
    let mut toc = String::new();
    if let Some(paths) = v.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let anchor = format!("{m}-{}", path.replace(['/', '{', '}'], "-"));
                let summary = op
                    .get("summary")
                    .or_else(|| op.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                toc.push_str(&format!(
                    "<li><a href=\"#{a}\"><code>{M} {p}</code></a> {s}</li>",
                    a = esc(&anchor),
                    M = m.to_uppercase(),
                    p = esc(path),
                    s = esc(summary)
                ));
                ops.push_str(&format!(
                    "<section class=\"api-op\" id=\"{a}\"><h3><code>{M} {p}</code></h3><p>{s}</p>",
                    a = esc(&anchor),
                    M = m.to_uppercase(),
                    p = esc(path),
                    s = esc(summary)
                ));
                if let Some(params) = op.get("parameters").and_then(Value::as_array) {
                    ops.push_str("<h4>Parameters</h4><ul>");
                    for p in params {
                        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
                        let place = p.get("in").and_then(Value::as_str).unwrap_or("");
                        let desc = p.get("description").and_then(Value::as_str).unwrap_or("");
                        let ty = p.get("schema").map(schema_name).unwrap_or_default();
                        ops.push_str(&format!(
                            "<li><code>{}</code> ({} {}) {}</li>",
                            esc(name),
                            esc(place),
                            esc(&ty),
                            esc(desc)
                        ));
                    }
                    ops.push_str("</ul>");
                }
                if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                    ops.push_str(&format!(
                        "<h4>Body</h4><p><a href=\"#schema-{n}\"><code>{n}</code></a></p>",
                        n = esc(&schema_name(schema))
                    ));
                }
                if let Some(resps) = op.get("responses").and_then(Value::as_object) {
                    ops.push_str("<h4>Answers</h4><ul>");
                    for (code, r) in resps {
                        let body = r
                            .pointer("/content/application~1json/schema")
                            .map(schema_name)
                            .map(|n| format!(" <code>{}</code>", esc(&n)))
                            .unwrap_or_default();
                        let desc = r.get("description").and_then(Value::as_str).unwrap_or("");
                        ops.push_str(&format!(
                            "<li><b>{}</b>{body} {}</li>",
                            esc(code),
                            esc(desc)
                        ));
                    }
                    ops.push_str("</ul>");
                }
                ops.push_str("</section>");
            }
        }
    }
    let mut schemas = String::new();
    if let Some(all) = v.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, s) in all {
            schemas.push_str(&format!(
                "<section class=\"api-schema\" id=\"schema-{n}\"><h3><code>{n}</code></h3>",
                n = esc(name)
            ));
            if let Some(d) = s.get("description").and_then(Value::as_str) {
                schemas.push_str(&format!("<p>{}</p>", esc(d)));
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                let required: Vec<&str> = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                schemas.push_str("<ul>");
                for (field, p) in props {
                    let desc = p.get("description").and_then(Value::as_str).unwrap_or("");
                    let opt = if required.contains(&field.as_str()) {
                        ""
                    } else {
                        ", optional"
                    };
                    schemas.push_str(&format!(
                        "<li><code>{}</code> ({}{opt}) {}</li>",
                        esc(field),
                        esc(&schema_name(p)),
                        esc(desc)
                    ));
                }
                schemas.push_str("</ul>");
            }
            schemas.push_str("</section>");
        }
    }
    let title = v
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} reference</title><link rel=\"stylesheet\" href=\"/pkg/nexus.css\"></head>\
         <body class=\"api-docs\"><main id=\"main\"><h1>{t}</h1>\
         <p>Version 1, at <code>/api/v1</code>. The machine-readable document: \
         <a href=\"/api/v1/openapi.json\">openapi.json</a> (OpenAPI 3.1).</p>{GUIDE}\
         <h2 id=\"operations\">Operations</h2><ul class=\"api-toc\">{toc}</ul>{ops}\
         <h2 id=\"schemas\">Types</h2>{schemas}</main></body></html>",
        t = esc(title)
    )
}
