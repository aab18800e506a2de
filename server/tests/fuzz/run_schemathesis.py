"""Fuzzes the REST API from its own OpenAPI document with schemathesis (from PyPI): every
operation, generated and mutated inputs (examples, coverage and fuzzing phases, a fixed seed
so a run can be repeated), as a signed-up account's admin-scope API key. The check is that no
answer is a server error (5xx); everything else (400s, 404s, 422s) is the API refusing bad
input, which is its job. Operations that take an id get real ones of the account (a vault,
folder, file, open upload, restore request, webhook endpoint and delivery, made first through
the API), so their fuzzing reaches the code behind the id check instead of stopping at 404;
each deleting operation gets its own thing to delete.

    python run_schemathesis.py <base url> [max examples per operation]

Prints "fuzz: <operations> operations, <cases> cases, <errors> server errors" and exits 1 when
any case got a 5xx (or schemathesis could not run).
"""
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

base = sys.argv[1].rstrip("/")
examples = sys.argv[2] if len(sys.argv) > 2 else "20"

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def call(name, data, as_json=False):
    body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
    req = urllib.request.Request(
        f"{base}/api/{name}",
        data=body,
        headers={
            "origin": base,
            "accept": "application/json",
            "content-type": "application/json" if as_json else "application/x-www-form-urlencoded",
        },
    )
    with opener.open(req) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


email = f"fuzz-{int(time.time() * 1000)}@example.com"
password = "correct horse battery fuzz"
call("sign_up", {"email": email, "password": password})
call("sign_in", {"email": email, "password": password})


def new_key():
    return call("create_api_key", {"new": {"name": "fuzz", "scopes": ["admin"]}}, as_json=True)[
        "secret"
    ]


def number(pattern, text):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else 0


def api(method, path, key, body=None):
    req = urllib.request.Request(f"{base}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}", "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def seed(key):
    """Real things of the account for the operations that take an id: {operation: id}."""
    import base64

    import requests
    from awscrt import checksums

    def upload(vault, name):
        data = os.urandom(1000)
        crc = base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()
        up = api("POST", "/upload-url", key, {"vault_id": vault, "name": name, "size": len(data),
                                               "content_type": "application/octet-stream", "checksum": crc})
        put = requests.put(up["url"], data=data, headers=dict(up["headers"]), timeout=60)
        put.raise_for_status()
        api("POST", f"/uploads/{up['upload_id']}/complete", key,
            {"parts": [{"number": 1, "etag": put.headers["etag"]}]})
        return up["file_id"]

    def open_upload(vault, name):
        return api("POST", "/uploads", key, {"vault_id": vault, "name": name, "size": 10,
                                             "content_type": "application/octet-stream"})["upload_id"]

    vault = api("POST", "/vaults", key, {"name": "fuzz-vault"})["id"]
    doomed_vault = api("POST", "/vaults", key, {"name": "fuzz-vault-2"})["id"]
    folder = api("POST", f"/vaults/{vault}/folders", key, {"path": "fuzz/folder"})["id"]
    doomed_folder = api("POST", f"/vaults/{vault}/folders", key, {"path": "fuzz/other"})["id"]
    file, doomed_file = upload(vault, "fuzz.bin"), upload(vault, "fuzz-2.bin")
    archived = upload(vault, "fuzz-cold.bin")
    api("POST", f"/files/{archived}/class", key, {"storage_class": "DEEP_ARCHIVE"})
    restore = api("POST", "/restores", key, {"file_ids": [archived], "days": 1, "tier": "Bulk"})["request_id"]
    upload_id, doomed_upload = open_upload(vault, "open.bin"), open_upload(vault, "open-2.bin")
    hook = api("POST", "/webhooks", key, {"url": "http://127.0.0.1:9/fuzz", "events": ["file.uploaded"]})["id"]
    doomed_hook = api("POST", "/webhooks", key, {"url": "http://127.0.0.1:9/fuzz-2", "events": ["file.uploaded"]})["id"]
    call("test_webhook", {"endpoint_id": hook})
    delivery = call("webhook_deliveries", {"endpoint_id": hook})[0]["id"]
    return {
        "GET /api/v1/vaults/{id}": vault, "PATCH /api/v1/vaults/{id}": vault,
        "DELETE /api/v1/vaults/{id}": doomed_vault, "GET /api/v1/vaults/{id}/files": vault,
        "POST /api/v1/vaults/{id}/folders": vault,
        "PATCH /api/v1/folders/{id}": folder, "DELETE /api/v1/folders/{id}": doomed_folder,
        "GET /api/v1/files/{id}": file, "PATCH /api/v1/files/{id}": file, "DELETE /api/v1/files/{id}": doomed_file,
        "POST /api/v1/files/{id}/class": file, "GET /api/v1/files/{id}/download": file,
        "POST /api/v1/files/{id}/sha256": file,
        "GET /api/v1/uploads/{id}": upload_id, "DELETE /api/v1/uploads/{id}": doomed_upload,
        "POST /api/v1/uploads/{id}/complete": upload_id, "POST /api/v1/uploads/{id}/parts": upload_id,
        "POST /api/v1/uploads/{id}/parts/done": upload_id,
        "GET /api/v1/restores/{id}": restore,
        "DELETE /api/v1/webhooks/{id}": doomed_hook, "GET /api/v1/webhooks/{id}/deliveries": hook,
        "POST /api/v1/deliveries/{id}/redeliver": delivery,
    }


def config_file(ids):
    """A schemathesis.toml giving each id-taking operation its real id."""
    import tempfile
    lines = []
    for name, value in ids.items():
        lines += ["[[operations]]", f'include-name = "{name}"', f'parameters = {{ "path.id" = "{value}" }}', ""]
    f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    f.write("\n".join(lines))
    f.close()
    return f.name


venv_bin = os.path.dirname(sys.executable)
env = dict(os.environ, SCHEMATHESIS_TELEMETRY="false")
# Rotating or revoking a key ends the key the run signs with: those operations run last, in
# a run of their own with a key of their own.
KEY_OPS = r"/keys/\{id\}"
totals = {"operations": 0, "cases": 0, "errors": 0, "failed_runs": 0}
for name, filters in [
    ("every operation but a key's rotate and revoke", ["--exclude-path-regex", KEY_OPS]),
    ("a key's rotate and revoke", ["--include-path-regex", KEY_OPS]),
]:
    key = new_key()
    if "--exclude-path-regex" in filters:
        ids = seed(key)
    else:
        # Another key of the account to rotate and revoke (not the one the run signs with).
        victim = call("create_api_key", {"new": {"name": "fuzz-victim", "scopes": ["files:read"]}}, as_json=True)
        ids = {f"{m} /api/v1/keys/{{id}}{tail}": victim["key"]["id"] for m, tail in (("DELETE", ""), ("POST", "/rotate"))}
    cmd = [
        os.path.join(venv_bin, "schemathesis"),
        *(["--config-file", config_file(ids)] if ids else []),
        "run",
        f"{base}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        examples,
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261206",
        # One worker: hypothesis describing its strategies from two threads at once trips a
        # CPython 3.11 AST bug ("recursion depth mismatch"), an error of the tool, not the API.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--no-color",
        *filters,
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out = run.stdout + run.stderr
    # The key is an admin key of a throwaway account; still, keep it out of the log.
    print(f"--- schemathesis: {name}")
    print(out.replace(key, "<key>"))
    totals["operations"] += number(r"Tested:\s+(\d+)", out)
    totals["cases"] += number(r"(\d+) generated", out)
    totals["errors"] += len(re.findall(r"Server error", out))
    if ids:
        print(f"(real ids given to {len(ids)} operations)")
    if run.returncode != 0:
        totals["failed_runs"] += 1

print(
    f"fuzz: {totals['operations']} operations, {totals['cases']} cases, "
    f"{totals['errors']} server errors"
)
sys.exit(0 if totals["failed_runs"] == 0 and totals["errors"] == 0 and totals["cases"] else 1)
