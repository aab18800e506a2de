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
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import requests  # moto's dependency; urllib's PUT of a body waits forever on moto's answer
from awscrt import checksums

sys.path.insert(0, os.path.dirname(__file__))
from test_kill9 import SERVER, free_port  # noqa: E402
ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")


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


class Node:
    """One server process whose S3 calls all go through its own fault proxy in front of the
    shared moto server."""

    def __init__(self, base, moto_port, name, **env):
        self.proxy_port, port = free_port(), free_port()
        self.procs = [subprocess.Popen(["node", os.path.join(ROOT, "end2end", "fault-proxy.js"),
                                        str(self.proxy_port), str(moto_port)])]
        wait_http(f"http://127.0.0.1:{self.proxy_port}/__faults")
        self.url = f"http://127.0.0.1:{port}"
        self.db = f"{base}/{name}/nexus.db"
        env = dict(os.environ, NEXUS_DATA_DIR=f"{base}/{name}", NEXUS_ADDR=f"127.0.0.1:{port}",
                   S3_ENDPOINT=f"http://127.0.0.1:{self.proxy_port}", S3_BUCKET=name, S3_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", NEXUS_DEFAULT_PLAN="pro",
                   NEXUS_SIGNUP_MAX_PER_IP_PER_HOUR="1000", LEPTOS_OUTPUT_NAME="nexus", RUST_LOG="info",
                   # A try that has not begun to answer in 2 s is given up (30 s by default).
                   NEXUS_S3_TIMEOUT_SECS="2", **env)
        with open(f"{base}/{name}.log", "ab") as log:
            self.procs.append(subprocess.Popen([SERVER], env=env, stdout=log, stderr=log))
        wait_http(f"{self.url}/readyz")
        self.account()

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait()

    def account(self):
        import http.cookiejar
        import urllib.parse
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = {"origin": self.url, "content-type": "application/x-www-form-urlencoded"}
        cred = urllib.parse.urlencode({"email": "faults@example.com", "password": "correct horse battery"}).encode()
        for fn in ("sign_up", "sign_in"):
            self.opener.open(urllib.request.Request(f"{self.url}/api/{fn}", data=cred, headers=form)).read()
        self.vault = json.loads(self.opener.open(urllib.request.Request(
            f"{self.url}/api/list_vaults", data=b"", headers=form)).read())[0]["id"]
        key = json.loads(self.opener.open(urllib.request.Request(
            f"{self.url}/api/create_api_key", data=json.dumps({"new": {"name": "f", "scopes": ["admin"]}}).encode(),
            headers={"origin": self.url, "content-type": "application/json"})).read())
        self.key = key["secret"]

    def call(self, fn, body, form=False):
        """A server function, as the signed-in page calls it: (status, JSON answer)."""
        import urllib.parse
        data, ctype = ((urllib.parse.urlencode(body).encode(), "application/x-www-form-urlencoded") if form
                       else (json.dumps(body).encode(), "application/json"))
        req = urllib.request.Request(f"{self.url}/api/{fn}", data=data, method="POST",
                                     headers={"origin": self.url, "content-type": ctype})
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")


class StorageFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nexus-s3faults-")
        cls.moto_port = free_port()
        bindir = os.environ.get("NEXUS_PYTHON_BIN_DIR", os.path.dirname(sys.executable))
        cls.moto = subprocess.Popen([os.path.join(bindir, "moto_server"), "-H", "127.0.0.1", "-p", str(cls.moto_port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{cls.moto_port}/")
        # No background job may meet (and use up) a fault meant for a request.
        cls.node = Node(cls.dir, cls.moto_port, "faults", NEXUS_RUN_JOBS="false")
        cls.proxy_port, cls.url, cls.key, cls.vault, cls.db = (
            cls.node.proxy_port, cls.node.url, cls.node.key, cls.node.vault, cls.node.db)
        # The workers' retries: a second server that runs jobs, behind its own proxy.
        cls.jobs = Node(cls.dir, cls.moto_port, "faults-jobs", NEXUS_RESTORE_POLL_MIN_SECS="1",
                        NEXUS_RESTORE_POLL_MAX_SECS="2")

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.jobs.stop()
        cls.moto.terminate()
        cls.moto.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def faults(self, n, kind, node=None, **more):
        extra = "".join(f"&{k}={v}" for k, v in more.items())
        port = (node or self.node).proxy_port
        status, _, body = http("POST", f"http://127.0.0.1:{port}/__faults?fail={n}&on=any&kind={kind}{extra}")
        self.assertEqual(status, 200)

    def injected(self, node=None):
        return json.loads(http("GET", f"http://127.0.0.1:{(node or self.node).proxy_port}/__faults")[2])

    def api(self, method, path, body=None, node=None):
        node = node or self.node
        status, headers, text = http(method, f"{node.url}/api/v1{path}", body,
                                     {"Authorization": f"Bearer {node.key}", "content-type": "application/json"})
        return status, (json.loads(text) if text else None)

    def query(self, sql, *args, node=None):
        with sqlite3.connect((node or self.node).db, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def start(self, name, data, node=None):
        node = node or self.node
        return self.api("POST", "/upload-url", {"vault_id": node.vault, "name": name, "size": len(data),
                                                "content_type": "application/octet-stream", "checksum": crc64(data)},
                        node=node)

    def put(self, up, data):
        r = requests.put(up["url"], data=data, headers=dict(up["headers"]), timeout=60)
        self.assertEqual(r.status_code, 200, r.text)
        return r.headers["etag"]

    def put_and_complete(self, up, data, node=None):
        etag = self.put(up, data)
        return self.api("POST", f"/uploads/{up['upload_id']}/complete", {"parts": [{"number": 1, "etag": etag}]},
                        node=node)

    def upload(self, name, data, node=None):
        status, up = self.start(name, data, node=node)
        self.assertEqual(status, 201, up)
        status, f = self.put_and_complete(up, data, node=node)
        self.assertEqual(status, 200, f)
        return up["file_id"]

    def in_moto(self, bucket, key):
        return requests.head(f"http://127.0.0.1:{self.moto_port}/{bucket}/{key}", timeout=10).status_code == 200

    def tearDown(self):
        self.faults(0, "503")
        self.faults(0, "503", node=self.jobs)

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


    def test_slow_answers_are_waited_for_and_too_slow_is_a_clear_503(self):
        # Answers held back 0.7 s (under the 2 s limit): slower, and fine.
        before = self.injected()["injected"]
        self.faults(3, "slow", delay_ms=700)
        self.upload("slow.bin", os.urandom(2000))
        self.assertEqual(self.injected()["injected"] - before, 3)
        # Held back 5 s, on every try: given up after 3 tries of 2 s, a 503 that says so,
        # and nothing of the upload stays.
        uploads_before = self.query("SELECT COUNT(*) FROM uploads")[0][0]
        files_before = self.query("SELECT COUNT(*) FROM files")[0][0]
        self.faults(100, "slow", delay_ms=5000)
        status, body = self.start("too-slow.bin", os.urandom(100))
        self.assertEqual(status, 503, body)
        self.assertIn("storage", json.dumps(body).lower())
        self.faults(0, "slow")
        self.assertEqual(self.query("SELECT COUNT(*) FROM uploads")[0][0], uploads_before)
        self.assertEqual(self.query("SELECT COUNT(*) FROM files")[0][0], files_before)

    def test_emptying_the_trash_stops_cleanly_and_finishes_later(self):
        a, b = sorted(self.upload(f"purge-{n}.bin", os.urandom(1000 + n)) for n in range(2))
        keys = {f: self.query("SELECT s3_key FROM files WHERE id = ?", f)[0][0] for f in (a, b)}
        for f in (a, b):
            status, body = self.api("DELETE", f"/files/{f}")
            self.assertEqual(status, 200, body)
        audits = lambda: self.query(  # noqa: E731
            "SELECT detail FROM audit_log WHERE action = 'file.purge' ORDER BY at")
        audits_before = len(audits())
        # Storage fails once the first file's object is deleted.
        self.faults(100, "503", after=1)
        status, body = self.node.call("empty_trash", {"file_ids": [a, b]})
        self.assertEqual(status, 503, body)
        self.faults(0, "503")
        # The first is gone (row and object) and recorded; the second's deletion has begun:
        # still in the trash with its object, and it can no longer be brought back (its
        # object could be gone by then).
        self.assertEqual(self.query("SELECT COUNT(*) FROM files WHERE id = ?", a), [(0,)])
        self.assertFalse(self.in_moto("faults", keys[a]))
        self.assertEqual(self.query("SELECT state FROM files WHERE id = ?", b), [("deleted",)])
        self.assertTrue(self.in_moto("faults", keys[b]))
        self.assertEqual(audits()[audits_before:], [("1 files deleted for good",)])
        status, body = self.api("POST", "/trash/restore", {"file_ids": [b]})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.query("SELECT deleted_at IS NOT NULL FROM files WHERE id = ?", b), [(1,)])
        # Tried again with storage back: finished.
        status, n = self.node.call("empty_trash", {"file_ids": [b]})
        self.assertEqual((status, n), (200, 1))
        self.assertEqual(self.query("SELECT COUNT(*) FROM files WHERE id = ?", b), [(0,)])
        self.assertFalse(self.in_moto("faults", keys[b]))

    def test_the_workers_retry_through_storage_failures(self):
        node = self.jobs
        files = [self.upload(f"w{i}.bin", os.urandom(500 + i), node=node) for i in range(3)]
        # An archiving rule's job meets 6 failures in a row (2 class changes' 3 tries each):
        # retried with its backoff, every file moves once.
        before = self.injected(node)["injected"]
        self.faults(6, "503", node=node)
        status, body = node.call("save_archive_rules", {"vault_id": node.vault, "rules": [
            {"older_than_days": 0, "to_class": "DEEP_ARCHIVE"}]})
        self.assertEqual(status, 200, body)
        status, body = node.call("apply_archive_rules", {"vault_id": node.vault}, form=True)
        self.assertEqual(status, 200, body)
        wait_for("every file in Deep Archive", lambda: self.query(
            "SELECT COUNT(*) FROM files WHERE storage_class = 'DEEP_ARCHIVE'", node=node)[0][0] == 3, 90)
        self.assertEqual(self.injected(node)["injected"] - before, 6)
        events = self.query("SELECT file_id, COUNT(*) FROM file_events WHERE kind = 'class_changed' GROUP BY file_id",
                            node=node)
        self.assertEqual(sorted(events), sorted((f, 1) for f in files))
        # A restore whose RestoreObject meets failures: the worker asks again until S3 takes
        # it (against a real S3 the worker then looks again after most of the tier's hours).
        before = self.injected(node)["injected"]
        self.faults(6, "503", node=node)
        status, body = self.api("POST", "/restores", {"file_ids": files[:1], "days": 1, "tier": "Bulk"}, node=node)
        self.assertEqual(status, 201, body)
        wait_for("S3 to take the restore", lambda: self.query(
            "SELECT state FROM restores", node=node) == [("in_progress",)], 90)
        self.assertEqual(self.injected(node)["injected"] - before, 6)
        self.assertEqual(self.query("SELECT COUNT(*) FROM restores", node=node), [(1,)])
        self.assertEqual(self.query("SELECT COUNT(*) FROM jobs WHERE state = 'failed'", node=node), [(0,)])


def wait_for(what, check, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


if __name__ == "__main__":
    unittest.main()
