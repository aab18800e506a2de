"""Load for bench/load: people browsing, downloading, uploading small files and asking for
restores, spread over every server process (NEXUS_LOAD_SERVERS, space-separated URLs): each
person signs in on one server and then works on any, so sessions must hold on all of them.
Requests are named by route, so locust's stats are per route. The accounts (with an API key,
a vault and files) come from NEXUS_LOAD_ACCOUNTS, a JSON file the bench's seeding wrote.
"""
import base64
import json
import os
import random

from awscrt import checksums
from locust import HttpUser, between, task

SERVERS = os.environ["NEXUS_LOAD_SERVERS"].split()
with open(os.environ["NEXUS_LOAD_ACCOUNTS"]) as f:
    ACCOUNTS = json.load(f)


def crc64(data):
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


class Person(HttpUser):
    wait_time = between(0.05, 0.3)
    host = SERVERS[0]

    def on_start(self):
        self.account = random.choice(ACCOUNTS)
        home = random.choice(SERVERS)
        r = self.client.post(f"{home}/api/sign_in", name="POST /api/sign_in",
                             data={"email": self.account["email"], "password": self.account["password"]},
                             headers={"origin": home}, allow_redirects=False)
        r.raise_for_status()
        self.key = {"Authorization": f"Bearer {self.account['key']}"}

    def server(self):
        return random.choice(SERVERS)

    def fn(self, name, data, as_json=False):
        base = self.server()
        kw = {"json": data} if as_json else {"data": data}
        with self.client.post(f"{base}/api/{name}", name=f"POST /api/{name}", headers={"origin": base},
                              catch_response=True, **kw) as r:
            if r.status_code >= 500:
                r.failure(f"{r.status_code}")
            elif r.status_code >= 400:
                # a session that does not hold on another server shows here
                r.failure(f"{r.status_code}: {r.text[:200]}")
            else:
                r.success()
            return r

    @task(6)
    def browse(self):
        self.fn("list_vaults", {})
        self.fn("list_page", {"query": {"vault_id": self.account["vault"], "everywhere": True,
                                        "sort": "modified", "desc": True}, "limit": 50}, as_json=True)

    @task(3)
    def details(self):
        self.fn("file_details", {"file_id": random.choice(self.account["files"])})

    @task(3)
    def download(self):
        base = self.server()
        fid = random.choice(self.account["files"])
        with self.client.get(f"{base}/files/{fid}/download", name="GET /files/{id}/download",
                             allow_redirects=False, catch_response=True) as r:
            if r.status_code == 303 or r.status_code == 302:
                r.success()
            else:
                r.failure(f"{r.status_code}")

    @task(2)
    def api_list(self):
        base = self.server()
        self.client.get(f"{base}/api/v1/vaults/{self.account['vault']}/files?limit=50",
                        name="GET /api/v1/vaults/{id}/files", headers=self.key)

    @task(1)
    def upload(self):
        base = self.server()
        data = os.urandom(random.randint(100, 20_000))
        name = f"load-{random.getrandbits(48):x}.bin"
        r = self.client.post(f"{base}/api/v1/upload-url", name="POST /api/v1/upload-url", headers=self.key,
                             json={"vault_id": self.account["vault"], "name": name, "size": len(data),
                                   "content_type": "application/octet-stream", "folder_path": "load",
                                   "checksum": crc64(data)})
        if r.status_code != 201:
            return
        up = r.json()
        put = self.client.put(up["url"], name="PUT (S3, presigned)", data=data,
                              headers=dict(up["headers"]))
        if put.status_code != 200:
            return
        self.client.post(f"{self.server()}/api/v1/uploads/{up['upload_id']}/complete",
                         name="POST /api/v1/uploads/{id}/complete", headers=self.key,
                         json={"parts": [{"number": 1, "etag": put.headers.get("etag", "")}]})

    @task(1)
    def restore(self):
        base = self.server()
        with self.client.post(f"{base}/api/v1/restores", name="POST /api/v1/restores", headers=self.key,
                              json={"file_ids": [self.account["archived"]], "days": 1, "tier": "Bulk"},
                              catch_response=True) as r:
            # A restore already under way is refused (422): the app's answer, not a failure.
            if r.status_code == 201 or (r.status_code == 422 and "already under way" in r.text):
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")
