"""The embedded database under a storm of writes: SQLite has one writer at a time, and
"database is locked" must never reach a person. The built server on SQLite takes 16 clients
writing at once (new folders, uploads started and finished, renames, moves into folders and
to the trash — each a write transaction) while its archiving-rules job moves 200 files in the
background: every request gets its answer (no 5xx), every write is there afterwards, and the
server's log has no "locked".

Environment: NEXUS_SERVER_BIN, LEPTOS_SITE_ROOT.
"""
import base64
import collections
import concurrent.futures
import os
import sys
import time
import unittest

import requests
from awscrt import checksums

sys.path.insert(0, os.path.dirname(__file__))
from test_kill9 import Server, Session  # noqa: E402

CLIENTS = 16
ROUNDS = 12  # per client: 6 writes a round


def crc64(data):
    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


class WriteStormTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()

    def tearDown(self):
        if os.environ.get("KEEP_LOG"):
            import shutil
            shutil.copy(f"{self.server.dir}/server.log", os.environ["KEEP_LOG"])
        self.server.stop()

    def test_a_write_storm_never_says_locked(self):
        srv = self.server
        s = Session(srv)
        s.call("sign_up", {"email": "storm@example.com", "password": "correct horse battery"})
        s.call("sign_in", {"email": "storm@example.com", "password": "correct horse battery"})
        vault = s.call("list_vaults", {})[0]["id"]
        key = s.call("create_api_key", {"new": {"name": "storm", "scopes": ["admin"]}}, as_json=True)["secret"]
        auth = {"Authorization": f"Bearer {key}"}
        api = f"{srv.url}/api/v1"
        statuses = collections.Counter()

        def call(method, path, body=None):
            r = requests.request(method, f"{api}{path}", json=body, headers=auth, timeout=120)
            statuses[r.status_code // 100 * 100] += 1
            if r.status_code >= 500:
                print(f"  {method} {path}: {r.status_code} {r.text[:300]}")
            return r

        def upload(name, data):
            r = call("POST", "/upload-url", {"vault_id": vault, "name": name, "size": len(data),
                                             "content_type": "application/octet-stream", "checksum": crc64(data)})
            self.assertEqual(r.status_code, 201, r.text)
            up = r.json()
            put = requests.put(up["url"], data=data, headers=dict(up["headers"]), timeout=60)
            self.assertEqual(put.status_code, 200, put.text)
            done = call("POST", f"/uploads/{up['upload_id']}/complete",
                        {"parts": [{"number": 1, "etag": put.headers["etag"]}]})
            self.assertEqual(done.status_code, 200, done.text)
            return up["file_id"]

        # 200 files for the background job to move while the storm runs.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: upload(f"bg-{i:03}.bin", os.urandom(64)), range(200)))
        s.call("save_archive_rules", {"vault_id": vault, "rules": [
            {"older_than_days": 0, "to_class": "GLACIER_IR"}]}, as_json=True)

        def client(c):
            made = []
            for r in range(ROUNDS):
                self.assertEqual(call("POST", f"/vaults/{vault}/folders", {"path": f"c{c}/r{r}"}).status_code, 201)
                f = upload(f"c{c}-r{r}.bin", os.urandom(100 + r))
                self.assertEqual(call("PATCH", f"/files/{f}", {"name": f"c{c}-r{r}-renamed.bin"}).status_code, 200)
                moved = call("PATCH", f"/files/{f}", {"folder_path": f"c{c}/r{r}"})
                self.assertEqual(moved.status_code, 200, moved.text)
                if r % 2:
                    self.assertEqual(call("DELETE", f"/files/{f}").status_code, 200)
                else:
                    made.append(f)
            return made

        started = time.time()
        s.call("apply_archive_rules", {"vault_id": vault})
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            kept = [f for made in pool.map(client, range(CLIENTS)) for f in made]
        took = time.time() - started

        self.assertEqual(statuses[500], 0, dict(statuses))
        # Every write is there.
        self.assertEqual(srv.query("SELECT COUNT(*) FROM folders WHERE name LIKE 'r%'"), [(CLIENTS * ROUNDS,)])
        live = srv.query("SELECT COUNT(*) FROM files WHERE name LIKE '%-renamed.bin' AND deleted_at IS NULL")[0][0]
        self.assertEqual(live, len(kept))
        trashed = srv.query("SELECT COUNT(*) FROM files WHERE name LIKE '%-renamed.bin' AND deleted_at IS NOT NULL")
        self.assertEqual(trashed, [(CLIENTS * ROUNDS - len(kept),)])
        # The job finished its 200 files meanwhile or finishes them now.
        deadline = time.time() + 60
        while srv.query("SELECT COUNT(*) FROM files WHERE storage_class = 'GLACIER_IR'")[0][0] < 200:
            self.assertLess(time.time(), deadline, "the archiving job did not finish")
            time.sleep(0.2)
        self.assertEqual(srv.query("SELECT COUNT(*) FROM jobs WHERE state = 'failed'"), [(0,)])
        with open(f"{srv.dir}/server.log", errors="replace") as log:
            self.assertNotIn("locked", log.read().lower())
        writes = CLIENTS * ROUNDS * 6
        print(f"  write storm: {CLIENTS} clients, {writes} writes in {took:.1f} s beside the archiving job, "
              f"answers {dict(sorted(statuses.items()))}, 0 'locked'")


if __name__ == "__main__":
    unittest.main()
