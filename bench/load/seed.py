"""Seeds bench/load: accounts on the first server, each with a session password, an admin
API key, a vault with files (uploaded through the API's one-URL flow) and one file moved to
Deep Archive (for restores). Writes the accounts as JSON.

    python seed.py <server url> <accounts> <files each> <out.json>
"""
import base64
import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import requests
from awscrt import checksums

base, n_accounts, n_files, out = sys.argv[1].rstrip("/"), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# Where uploads are reported (bench/load/receiver.py), to check each event arrives once.
hook = sys.argv[5] if len(sys.argv) > 5 else None


def crc64(data):
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def request(opener, method, url, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        r = opener.open(req)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {url}: {e.code} {e.read()[:300]!r}")
    with r:
        text = r.read()
        return r.headers, (json.loads(text) if text and raw is None and r.headers.get_content_type() == "application/json" else text)


accounts = []
for i in range(n_accounts):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    email, password = f"load-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery load"
    form = {"origin": base, "content-type": "application/x-www-form-urlencoded"}
    for fn in ("sign_up", "sign_in"):
        request(opener, "POST", f"{base}/api/{fn}", raw=urllib.parse.urlencode(
            {"email": email, "password": password}).encode(), headers=form)
    _, vaults = request(opener, "POST", f"{base}/api/list_vaults", raw=b"", headers=form)
    vaults = json.loads(vaults) if isinstance(vaults, bytes) else vaults
    vault = vaults[0]["id"]
    _, key = request(opener, "POST", f"{base}/api/create_api_key",
                     {"new": {"name": "load", "scopes": ["admin"]}},
                     headers={"origin": base, "content-type": "application/json"})
    key = key if isinstance(key, dict) else json.loads(key)
    auth = {"Authorization": f"Bearer {key['secret']}", "content-type": "application/json"}
    if hook:
        request(opener, "POST", f"{base}/api/v1/webhooks", {"url": hook, "events": ["file.uploaded"]},
                headers=auth)
    files = []
    for j in range(n_files):
        data = os.urandom(1000 + j)
        _, up = request(opener, "POST", f"{base}/api/v1/upload-url", {
            "vault_id": vault, "name": f"seed-{j:04}.bin", "size": len(data),
            "content_type": "application/octet-stream", "checksum": crc64(data)}, headers=auth)
        put = requests.put(up["url"], data=data, headers=dict(up["headers"]), timeout=30)
        put.raise_for_status()
        h = put.headers
        request(opener, "POST", f"{base}/api/v1/uploads/{up['upload_id']}/complete",
                {"parts": [{"number": 1, "etag": h["etag"]}]}, headers=auth)
        files.append(up["file_id"])
    archived = files.pop()
    request(opener, "POST", f"{base}/api/v1/files/{archived}/class", {"storage_class": "DEEP_ARCHIVE"}, headers=auth)
    accounts.append({"email": email, "password": password, "key": key["secret"], "vault": vault,
                     "files": files, "archived": archived})
with open(out, "w") as f:
    json.dump(accounts, f)
print(f"seeded {n_accounts} accounts with {n_files} files each")
