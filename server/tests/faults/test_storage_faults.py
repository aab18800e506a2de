"""Object storage failing under the server: every S3 call the server makes goes through the
fault proxy (end2end/fault-proxy.js, `on=any`) in front of moto server. A few SlowDowns or
cut connections are retried (with the SDK's backoff) and the person never sees them; storage
failing for good is a clear 503 that says so, and nothing is left half-done in the database:
no upload or file without its object, no class recorded that the object does not have.

Environment: NEXUS_SERVER_BIN, LEPTOS_SITE_ROOT, NEXUS_PYTHON_BIN_DIR (moto_server's folder).
"""
import base64
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import requests  # moto's dependency; urllib's PUT of a body waits forever on moto's answer
from awscrt import checksums

SERVER = os.environ["NEXUS_SERVER_BIN"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def crc64(data):
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def http(method, url, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            text = r.read()
            return r.status, dict(r.headers), text
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class StorageFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nexus-s3faults-")
        cls.procs = []
        moto_port, cls.proxy_port, port = free_port(), free_port(), free_port()
        bindir = os.environ.get("NEXUS_PYTHON_BIN_DIR", os.path.dirname(os.sys.executable))
        cls.procs.append(subprocess.Popen([os.path.join(bindir, "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(f"http://127.0.0.1:{moto_port}/")
        cls.procs.append(subprocess.Popen(["node", os.path.join(ROOT, "end2end", "fault-proxy.js"),
                                           str(cls.proxy_port), str(moto_port)]))
        wait_http(f"http://127.0.0.1:{cls.proxy_port}/__faults")
        cls.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, NEXUS_DATA_DIR=f"{cls.dir}/data", NEXUS_ADDR=f"127.0.0.1:{port}",
                   S3_ENDPOINT=f"http://127.0.0.1:{cls.proxy_port}", S3_BUCKET="faults", S3_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", NEXUS_DEFAULT_PLAN="pro",
                   NEXUS_SIGNUP_MAX_PER_IP_PER_HOUR="1000", LEPTOS_OUTPUT_NAME="nexus", RUST_LOG="info",
                   # No background job may meet (and use up) a fault meant for the request.
                   NEXUS_RUN_JOBS="false")
        with open(f"{cls.dir}/server.log", "ab") as log:
            cls.procs.append(subprocess.Popen([SERVER], env=env, stdout=log, stderr=log))
        wait_http(f"{cls.url}/readyz")
        cls.key = cls.account()
        cls.db = f"{cls.dir}/data/nexus.db"

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.terminate()
        for p in cls.procs:
            p.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def account(cls):
        import http.cookiejar
        import urllib.parse
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = {"origin": cls.url, "content-type": "application/x-www-form-urlencoded"}
        cred = urllib.parse.urlencode({"email": "faults@example.com", "password": "correct horse battery"}).encode()
        for fn in ("sign_up", "sign_in"):
            opener.open(urllib.request.Request(f"{cls.url}/api/{fn}", data=cred, headers=form)).read()
        cls.vault = json.loads(opener.open(urllib.request.Request(
            f"{cls.url}/api/list_vaults", data=b"", headers=form)).read())[0]["id"]
        key = json.loads(opener.open(urllib.request.Request(
            f"{cls.url}/api/create_api_key", data=json.dumps({"new": {"name": "f", "scopes": ["admin"]}}).encode(),
            headers={"origin": cls.url, "content-type": "application/json"})).read())
        return key["secret"]

    def faults(self, n, kind):
        status, _, body = http("POST", f"http://127.0.0.1:{self.proxy_port}/__faults?fail={n}&on=any&kind={kind}")
        self.assertEqual(status, 200)

    def injected(self):
        return json.loads(http("GET", f"http://127.0.0.1:{self.proxy_port}/__faults")[2])

    def api(self, method, path, body=None):
        status, headers, text = http(method, f"{self.url}/api/v1{path}", body,
                                     {"Authorization": f"Bearer {self.key}", "content-type": "application/json"})
        return status, (json.loads(text) if text else None)

    def query(self, sql, *args):
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def start(self, name, data):
        return self.api("POST", "/upload-url", {"vault_id": self.vault, "name": name, "size": len(data),
                                                "content_type": "application/octet-stream", "checksum": crc64(data)})

    def put(self, up, data):
        r = requests.put(up["url"], data=data, headers=dict(up["headers"]), timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        return r.headers["etag"]

    def put_and_complete(self, up, data):
        etag = self.put(up, data)
        return self.api("POST", f"/uploads/{up['upload_id']}/complete", {"parts": [{"number": 1, "etag": etag}]})

    def tearDown(self):
        self.faults(0, "503")

    def test_a_few_failures_are_retried_unseen(self):
        for kind in ("503", "500", "cut"):
            before = self.injected()["injected"]
            self.faults(2, kind)
            data = os.urandom(3000)
            status, up = self.start(f"retried-{kind}.bin", data)
            self.assertEqual(status, 201, f"{kind}: {up}")
            self.assertEqual(self.injected()["injected"] - before, 2, kind)
            status, f = self.put_and_complete(up, data)
            self.assertEqual(status, 200, f)

    def test_storage_down_is_a_clear_503_and_nothing_half_done(self):
        uploads_before = self.query("SELECT COUNT(*) FROM uploads")[0][0]
        files_before = self.query("SELECT COUNT(*) FROM files")[0][0]
        self.faults(100, "503")
        status, body = self.start("never.bin", os.urandom(100))
        self.assertEqual(status, 503, body)
        self.assertIn("storage", json.dumps(body).lower())
        self.faults(0, "503")
        # Nothing of it stays: no upload, no file row.
        self.assertEqual(self.query("SELECT COUNT(*) FROM uploads")[0][0], uploads_before)
        self.assertEqual(self.query("SELECT COUNT(*) FROM files")[0][0], files_before)

    def test_completion_and_class_change_fail_cleanly_then_succeed(self):
        data = os.urandom(5000)
        status, up = self.start("later.bin", data)
        self.assertEqual(status, 201)
        etag = self.put(up, data)
        self.faults(100, "500")
        status, body = self.api("POST", f"/uploads/{up['upload_id']}/complete", {"parts": [{"number": 1, "etag": etag}]})
        self.assertEqual(status, 503, body)
        self.assertEqual(self.query("SELECT state FROM files WHERE id = ?", up["file_id"]), [("uploading",)])
        self.faults(0, "500")
        status, f = self.api("POST", f"/uploads/{up['upload_id']}/complete", {"parts": [{"number": 1, "etag": etag}]})
        self.assertEqual(status, 200, f)
        self.assertEqual(self.query("SELECT state FROM files WHERE id = ?", up["file_id"]), [("available",)])
        # A class change while storage cuts every connection: refused, nothing recorded.
        self.faults(100, "cut")
        status, body = self.api("POST", f"/files/{up['file_id']}/class", {"storage_class": "GLACIER_IR"})
        self.assertEqual(status, 503, body)
        self.assertEqual(self.query("SELECT storage_class FROM files WHERE id = ?", up["file_id"]), [("STANDARD",)])
        self.assertEqual(self.query("SELECT COUNT(*) FROM file_events WHERE file_id = ? AND kind = 'class_changed'",
                                    up["file_id"]), [(0,)])
        self.faults(0, "cut")
        status, body = self.api("POST", f"/files/{up['file_id']}/class", {"storage_class": "GLACIER_IR"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.query("SELECT storage_class FROM files WHERE id = ?", up["file_id"]), [("GLACIER_IR",)])


if __name__ == "__main__":
    unittest.main()
