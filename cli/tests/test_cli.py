"""The `nexus` CLI against a running server (scripts/test starts one on the embedded S3
endpoint and one on moto): upload a folder, kill -9 mid-upload and resume (every part stored
once), skip what is there, download with checksums, restore asking before spending.

Environment: NEXUS_TEST_URL (the server), NEXUS_BIN (the CLI), NEXUS_TEST_DB (its SQLite
database, to count each part's stores).
"""
import hashlib
import http.cookiejar
import http.server
import sys
import threading
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples"))
from verify_webhook import verify  # noqa: E402  (the README's example, tested here)

URL = os.environ["NEXUS_TEST_URL"].rstrip("/")
BIN = os.environ["NEXUS_BIN"]
DB = os.environ.get("NEXUS_TEST_DB")
MIB = 1024 * 1024


def crc64nvme(data):
    """S3's x-amz-checksum-crc64nvme of `data` (awscrt, which moto and botocore use too)."""
    import base64
    from awscrt import checksums
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


class Session:
    """A browser-like session: cookies, and the Origin header state changes need."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, name, data, as_json=False):
        body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(f"{URL}/api/{name}", data=body, method="POST", headers={
            "Origin": URL,
            "Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded",
        })
        with self.opener.open(req) as r:
            return json.loads(r.read() or b"null")


def new_account():
    s = Session()
    email = f"cli-{uuid.uuid4().hex[:10]}@example.com"
    s.call("sign_up", {"email": email, "password": "correct horse battery"})
    s.call("sign_in", {"email": email, "password": "correct horse battery"})
    vault = s.call("list_vaults", {})[0]
    key = s.call("create_api_key", {"new": {"name": "cli test", "scopes": ["admin"]}}, as_json=True)
    return vault, key["secret"]


def api(key, method, path, body=None):
    req = urllib.request.Request(f"{URL}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class CliTest(unittest.TestCase):
    def setUp(self):
        vault, self.key = new_account()
        self.v = vault["name"]
        self.home = tempfile.mkdtemp()
        self.env = dict(os.environ, NEXUS_API_URL=URL, NEXUS_API_KEY=self.key,
                        XDG_CONFIG_HOME=f"{self.home}/config", XDG_STATE_HOME=f"{self.home}/state")
        self.env.pop("NEXUS_CLI_TEST_HOLD_AFTER_PARTS", None)

    def nexus(self, *args, env=None, check=True):
        r = subprocess.run([BIN, *args], env=env or self.env, capture_output=True, text=True, timeout=300)
        if check:
            self.assertEqual(r.returncode, 0, f"nexus {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r

    def tree(self):
        root = tempfile.mkdtemp()
        folder = os.path.join(root, "photos")
        os.makedirs(os.path.join(folder, "2026", "december"))
        files = {
            "a.txt": b"hello\n",
            "2026/b.bin": os.urandom(3 * MIB + 17),
            "2026/december/c.bin": os.urandom(17 * MIB + 3),
            "2026/december/empty": b"",
        }
        for rel, data in files.items():
            with open(os.path.join(folder, rel), "wb") as f:
                f.write(data)
        return folder, files

    def test_a_folder_goes_up_and_comes_back_byte_for_byte(self):
        folder, files = self.tree()
        out = self.nexus("--json", "upload", folder, f"{self.v}/backup")
        report = json.loads(out.stdout)
        self.assertEqual(report["uploaded"], len(files), report)
        self.assertEqual(sorted(f["remote"] for f in report["files"]),
                         sorted(f"{self.v}/backup/photos/{p}" for p in files), report)
        ls = json.loads(self.nexus("--json", "ls", f"{self.v}/backup/photos/2026/december").stdout)
        self.assertEqual(sorted(f["name"] for f in ls["files"]), ["c.bin", "empty"])
        # Again: everything is there with the same content, so nothing is sent.
        again = json.loads(self.nexus("--json", "upload", folder, f"{self.v}/backup").stdout)
        self.assertEqual(again["skipped"], len(files), again)
        self.assertEqual(again["uploaded"], 0)
        out_dir = tempfile.mkdtemp()
        for rel, data in files.items():
            target = os.path.join(out_dir, rel.replace("/", "_"))
            got = json.loads(self.nexus("--json", "download", "-o", target, f"{self.v}/backup/photos/{rel}").stdout)
            # Checked against what storage verified at upload (and the SHA-256 recorded).
            self.assertTrue(got["verified"], got)
            self.assertEqual(got["crc64nvme"], crc64nvme(data), rel)
            with open(target, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(data).hexdigest(), rel)
        if DB:
            # Each file's whole-object CRC64NVME is kept, the one the parts combine into.
            with sqlite3.connect(DB) as db:
                rows = dict(db.execute("SELECT name, crc64nvme FROM files WHERE state = 'available'"))
            for rel, data in files.items():
                self.assertEqual(rows[os.path.basename(rel)], crc64nvme(data), rel)

    def test_a_killed_upload_resumes_and_stores_each_part_once(self):
        src = os.path.join(tempfile.mkdtemp(), "big.bin")
        data = os.urandom(60 * MIB + 5)  # 8 parts of 8 MiB
        with open(src, "wb") as f:
            f.write(data)
        env = dict(self.env, NEXUS_CLI_TEST_HOLD_AFTER_PARTS="3")
        p = subprocess.Popen([BIN, "upload", "--parts", "1", src, f"{self.v}/resume"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        state_dir = f"{self.home}/state/nexus/uploads"
        # Wait for the CLI to say it holds (3 parts reported); nothing here asks the server
        # meanwhile, so each part's store count is the CLI's alone.
        deadline = time.time() + 120
        held = False
        while time.time() < deadline and not held:
            line = p.stderr.readline().decode()
            if not line:
                break
            held = "holding after" in line
        self.assertTrue(held, "the upload never got 3 parts in")
        names = os.listdir(state_dir)
        self.assertEqual(len(names), 1)
        with open(os.path.join(state_dir, names[0])) as f:
            upload_id = json.load(f)["upload_id"]
        p.send_signal(signal.SIGKILL)
        p.wait()
        status, info = api(self.key, "GET", f"/uploads/{upload_id}")
        self.assertEqual(status, 200)
        before = len(info["stored"])
        self.assertTrue(3 <= before < 8, before)
        # Run again: it continues from the parts stored.
        out = json.loads(self.nexus("--json", "upload", "--parts", "2", src, f"{self.v}/resume").stdout)
        self.assertEqual(out["uploaded"], 1, out)
        self.assertEqual(out["files"][0]["status"], "resumed", out)
        self.assertEqual(out["files"][0]["resumed_parts"], before, out)
        if DB:
            with sqlite3.connect(DB) as db:
                counts = [r[0] for r in db.execute(
                    "SELECT put_count FROM upload_parts WHERE upload_id = ? ORDER BY part_number", (upload_id,))]
            self.assertEqual(len(counts), 8)
            self.assertTrue(all(c <= 1 for c in counts), counts)
        target = os.path.join(tempfile.mkdtemp(), "back.bin")
        self.nexus("download", "-o", target, f"{self.v}/resume/big.bin")
        with open(target, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(data).digest())
        # The state file went with the finished upload.
        self.assertEqual(os.listdir(state_dir), [])

    def test_restore_shows_the_cost_and_asks_before_spending(self):
        src = os.path.join(tempfile.mkdtemp(), "cold.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(1024))
        self.nexus("upload", src, f"{self.v}/cold")
        self.nexus("class", "DEEP_ARCHIVE", f"{self.v}/cold/cold.bin")
        # No terminal and no --yes: refused with exit 2, nothing asked for.
        r = self.nexus("restore", "--tier", "Bulk", f"{self.v}/cold/cold.bin", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Bulk", r.stdout + r.stderr)
        status, restores = api(self.key, "GET", "/restores")
        self.assertEqual(restores["restores"], [])
        out = json.loads(self.nexus("--json", "restore", "--tier", "Bulk", "--yes", f"{self.v}/cold/cold.bin").stdout)
        self.assertTrue(out["restore"]["request_id"], out)

    def test_the_same_content_under_another_name_is_a_duplicate(self):
        d = tempfile.mkdtemp()
        data = os.urandom(9 * MIB)
        for name in ("first.bin", "second.bin"):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        self.nexus("upload", os.path.join(d, "first.bin"), f"{self.v}/dups")
        out = json.loads(self.nexus("--json", "upload", os.path.join(d, "second.bin"), f"{self.v}/dups").stdout)
        self.assertEqual(out["duplicates"], 1, out)
        self.assertEqual(out["files"][0]["status"], "duplicate", out)
        ls = json.loads(self.nexus("--json", "ls", f"{self.v}/dups").stdout)
        self.assertEqual([f["name"] for f in ls["files"]], ["first.bin"])
        # No unfinished upload is left behind.
        self.assertEqual(os.listdir(f"{self.home}/state/nexus/uploads"), [])

    def test_errors_have_exit_codes(self):
        r = self.nexus("ls", "No such vault", check=False)
        self.assertEqual(r.returncode, 3, r.stderr)
        bad = dict(self.env, NEXUS_API_KEY="nxs_live_" + "0" * 64)
        r = self.nexus("vaults", env=bad, check=False)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("not known", r.stderr)


    def test_the_documented_receiver_verifies_real_deliveries(self):
        got = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((self.headers, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            status, ep = api(self.key, "POST", "/webhooks", {
                "url": f"http://127.0.0.1:{server.server_port}/hook", "events": ["file.uploaded"]})
            self.assertEqual(status, 201, ep)
            src = os.path.join(tempfile.mkdtemp(), "event.txt")
            with open(src, "wb") as f:
                f.write(b"an event")
            self.nexus("upload", src, f"{self.v}/hooks")
            deadline = time.time() + 30
            while not got and time.time() < deadline:
                time.sleep(0.1)
            self.assertTrue(got, "no delivery came")
            headers, body = got[0]
            sig = headers["Nexus-Signature"]
            self.assertTrue(verify(body, sig, ep["secret"]))
            self.assertFalse(verify(body, sig, "whsec_someone_else"))
            self.assertFalse(verify(body + b" ", sig, ep["secret"]))
            self.assertFalse(verify(body, sig, ep["secret"], now=time.time() + 3600))
            event = json.loads(body)
            self.assertEqual(event["type"], "file.uploaded")
            self.assertEqual(event["data"]["file"]["name"], "event.txt")
            self.assertEqual(headers["Nexus-Event-Id"], event["id"])
        finally:
            server.shutdown()


if __name__ == "__main__":
    unittest.main()
