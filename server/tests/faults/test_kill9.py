"""The server killed with SIGKILL in the middle of its work, then started again on the same
data: nothing is lost, nothing is marked stored without its object, no part S3 has is sent
again, and the work finishes exactly once.

- an upload (by the `nexus` CLI) with 3 of 8 parts in when the server dies: no file is
  `available` meanwhile; after the restart the CLI continues from the parts stored, each part
  is stored once, and the file downloads byte for byte;
- the same in Chromium (end2end/kill9-browser.js): a person's upload with parts in when the
  server (and the embedded S3 it serves) dies; after the restart the page finishes it, no part
  stored before the kill is sent again, and the stored object's size and CRC64NVME are the
  file's;
- the archiving-rules job moving 300 files to Deep Archive when the server dies: after the
  restart the job is taken up again (its lease lapses within 30 s) and every file ends in Deep
  Archive with exactly one class change in its history, its object in that class;
- a Bulk restore in flight when the server dies: after the restart it becomes ready once, with
  one notification and one mail;
- a mail being sent (the SMTP sink holds its answer to the message) when the server dies:
  after the restart the mail goes again — at least once — with the same Message-ID, and its
  outbox row is marked sent once;
- Stripe webhooks being delivered (30 events) when the server dies: after the restart and
  Stripe's retries of every event (delivered or not), each event took effect exactly once.

Environment: NEXUS_SERVER_BIN (the built server), NEXUS_BIN (the CLI), LEPTOS_SITE_ROOT.
"""
import hashlib
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

SERVER = os.environ["NEXUS_SERVER_BIN"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
CLI = os.environ.get("NEXUS_BIN", "nexus")
MIB = 1024 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One server process on a data folder and fixed ports, which can be killed and started
    again on the same ones."""

    def __init__(self, **env):
        self.dir = tempfile.mkdtemp(prefix="nexus-kill9-")
        self.port, self.s3_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            NEXUS_DATA_DIR=f"{self.dir}/data",
            NEXUS_ADDR=f"127.0.0.1:{self.port}",
            NEXUS_LOCAL_S3_ADDR=f"127.0.0.1:{self.s3_port}",
            NEXUS_DEFAULT_PLAN="pro",
            NEXUS_SIGNUP_MAX_PER_IP_PER_HOUR="1000",
            NEXUS_API_RATE_PER_MINUTE="100000",
            LEPTOS_OUTPUT_NAME="nexus",
            RUST_LOG="info",
        )
        self.env.update(env)
        self.proc = None
        self.start()

    @property
    def db(self):
        return f"{self.dir}/data/nexus.db"

    def start(self):
        with open(f"{self.dir}/server.log", "ab") as log:
            self.proc = subprocess.Popen([SERVER], env=self.env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.log()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log(self):
        with open(f"{self.dir}/server.log", errors="replace") as f:
            return f.read()[-4000:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql, *args):
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(sql, args).fetchall()


class Session:
    def __init__(self, server):
        self.url = server.url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, name, data, as_json=False):
        body = json.dumps(data).encode() if as_json else urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(f"{self.url}/api/{name}", data=body, method="POST", headers={
            "Origin": self.url,
            "Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded",
        })
        with self.opener.open(req) as r:
            return json.loads(r.read() or b"null")


def account(server):
    s = Session(server)
    email = f"kill9-{uuid.uuid4().hex[:10]}@example.com"
    s.call("sign_up", {"email": email, "password": "correct horse battery"})
    s.call("sign_in", {"email": email, "password": "correct horse battery"})
    vault = s.call("list_vaults", {})[0]
    key = s.call("create_api_key", {"new": {"name": "kill9", "scopes": ["admin"]}}, as_json=True)
    return s, vault, key["secret"]


def wait_for(what, check, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Kill9Test(unittest.TestCase):
    def setUp(self):
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()

    def cli(self, key, home, *args, env=None, check=True):
        e = dict(os.environ, NEXUS_API_URL=self.server.url, NEXUS_API_KEY=key,
                 XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state", **(env or {}))
        r = subprocess.run([CLI, *args], env=e, capture_output=True, text=True, timeout=300)
        if check:
            self.assertEqual(r.returncode, 0, f"nexus {' '.join(args)}:\n{r.stdout}\n{r.stderr}")
        return r

    def test_an_upload_survives_the_server_dying_mid_way(self):
        self.server = srv = Server()
        _, vault, key = account(srv)
        home = tempfile.mkdtemp()
        src = os.path.join(home, "big.bin")
        data = os.urandom(60 * MIB + 5)  # 8 parts of 8 MiB
        with open(src, "wb") as f:
            f.write(data)
        env = dict(os.environ, NEXUS_API_URL=srv.url, NEXUS_API_KEY=key,
                   XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state",
                   NEXUS_CLI_TEST_HOLD_AFTER_PARTS="3")
        p = subprocess.Popen([CLI, "upload", "--parts", "1", src, f"{vault['name']}/k9"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        held = False
        while time.time() < deadline and not held:
            line = p.stderr.readline().decode()
            if not line:
                break
            held = "holding after" in line
        self.assertTrue(held, "the upload never got 3 parts in")
        srv.kill9()
        p.kill()
        p.wait()
        # Dead server, on disk: the upload is open, its file not available.
        (upload_id, completed), = srv.query("SELECT id, completed_at FROM uploads")
        self.assertIsNone(completed)
        self.assertEqual(srv.query("SELECT COUNT(*) FROM files WHERE state = 'available'"), [(0,)])
        stored = srv.query("SELECT COUNT(*) FROM upload_parts WHERE upload_id = ? AND put_count > 0", upload_id)[0][0]
        self.assertGreaterEqual(stored, 3)
        srv.start()
        out = json.loads(self.cli(key, home, "--json", "upload", "--parts", "2", src, f"{vault['name']}/k9").stdout)
        self.assertEqual(out["files"][0]["status"], "resumed", out)
        self.assertEqual(out["files"][0]["resumed_parts"], stored, out)
        counts = [r[0] for r in srv.query(
            "SELECT put_count FROM upload_parts WHERE upload_id = ? ORDER BY part_number", upload_id)]
        self.assertEqual(len(counts), 8)
        self.assertTrue(all(c == 1 for c in counts), f"each part stored once: {counts}")
        target = os.path.join(home, "back.bin")
        self.cli(key, home, "download", "-o", target, f"{vault['name']}/k9/big.bin")
        with open(target, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).digest(), hashlib.sha256(data).digest())

    def test_the_archiving_job_finishes_once_after_the_server_dies(self):
        self.server = srv = Server()
        s, vault, key = account(srv)
        home = tempfile.mkdtemp()
        folder = os.path.join(home, "many")
        os.makedirs(folder)
        n = 300
        for i in range(n):
            with open(os.path.join(folder, f"f{i:03}.txt"), "wb") as f:
                f.write(os.urandom(100 + i))
        self.cli(key, home, "upload", folder, vault["name"])
        self.assertEqual(srv.query("SELECT COUNT(*) FROM files WHERE state = 'available'"), [(n,)])
        s.call("save_archive_rules", {"vault_id": vault["id"], "rules": [
            {"older_than_days": 0, "to_class": "DEEP_ARCHIVE"}]}, as_json=True)
        s.call("apply_archive_rules", {"vault_id": vault["id"]})
        moved = lambda: srv.query(  # noqa: E731
            "SELECT COUNT(*) FROM files WHERE storage_class = 'DEEP_ARCHIVE'")[0][0]
        # Killed once the job has moved some files, not all.
        wait_for("the job to start moving files", lambda: moved() > 0, 60)
        srv.kill9()
        at_kill = moved()
        self.assertLess(at_kill, n, "the job finished before the kill; the test proves nothing")
        srv.start()
        try:
            wait_for("every file in Deep Archive", lambda: moved() == n, 120)
        except AssertionError:
            print(srv.query("SELECT kind, state, run_at, locked_until, locked_by, attempts, last_error FROM jobs"))
            print(srv.log())
            raise
        events = srv.query(
            "SELECT file_id, COUNT(*) FROM file_events WHERE kind = 'class_changed' GROUP BY file_id")
        self.assertEqual(len(events), n)
        self.assertTrue(all(c == 1 for _, c in events), [e for e in events if e[1] != 1][:5])
        self.assertEqual(srv.query("SELECT COUNT(*) FROM jobs WHERE state = 'failed'"), [(0,)])
        print(f"  archiving job: killed at {at_kill}/{n} files, finished after the restart")

    def test_a_restore_in_flight_is_ready_once_after_the_server_dies(self):
        self.server = srv = Server(NEXUS_LOCAL_S3_RESTORE_SECS="DEEP_ARCHIVE.Bulk=4")
        s, vault, key = account(srv)
        home = tempfile.mkdtemp()
        src = os.path.join(home, "cold.bin")
        data = os.urandom(5000)
        with open(src, "wb") as f:
            f.write(data)
        self.cli(key, home, "upload", src, f"{vault['name']}/cold")
        self.cli(key, home, "class", "DEEP_ARCHIVE", f"{vault['name']}/cold/cold.bin")
        self.cli(key, home, "restore", "--tier", "Bulk", "--yes", f"{vault['name']}/cold/cold.bin")
        wait_for("the restore to be asked of S3", lambda: srv.query(
            "SELECT COUNT(*) FROM restores WHERE state = 'in_progress'")[0][0] == 1, 60)
        srv.kill9()
        srv.start()
        wait_for("the restore to be ready", lambda: srv.query(
            "SELECT COUNT(*) FROM restores WHERE state = 'ready'")[0][0] == 1, 120)
        time.sleep(3)  # a second notification, if any, would come now
        self.assertEqual(srv.query("SELECT COUNT(*) FROM restores"), [(1,)])
        self.assertEqual(srv.query("SELECT COUNT(*) FROM notifications WHERE kind = 'restore_ready'"), [(1,)])
        # The sign-up's confirmation aside, one mail: the restore's.
        self.assertEqual(srv.query("SELECT COUNT(*) FROM mail_outbox WHERE subject NOT LIKE 'Confirm%'"), [(1,)])
        target = os.path.join(home, "warm.bin")
        self.cli(key, home, "download", "-o", target, f"{vault['name']}/cold/cold.bin")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), data)


    def test_a_mail_cut_off_mid_send_goes_again_as_the_same_message(self):
        import asyncio
        import email
        from aiosmtpd.controller import Controller

        got = []

        class Sink:
            async def handle_DATA(self, server, session, envelope):
                got.append(envelope.content)
                if len(got) == 1:
                    await asyncio.sleep(8)  # the server is killed while it waits for "250"
                return "250 Message accepted for delivery"

        smtp_port = free_port()
        sink = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
        sink.start()
        self.addCleanup(sink.stop)
        self.server = srv = Server(NEXUS_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", NEXUS_MAIL_FROM="nexus@k9.test")
        s = Session(srv)
        s.call("sign_up", {"email": "mail-k9@example.com", "password": "correct horse battery"})
        wait_for("the confirmation mail to reach the sink", lambda: len(got) == 1, 60)
        srv.kill9()
        self.assertEqual(srv.query("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL"), [(1,)])
        srv.start()
        # The mailer's lease (30 s) runs out, it is taken up again and the mail goes again.
        wait_for("the mail to be sent again", lambda: srv.query(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL")[0][0] == 1, 90)
        time.sleep(3)  # a third copy, if any, would come now
        self.assertEqual(len(got), 2, "sent again once")
        ids = {email.message_from_bytes(m)["Message-ID"] for m in got}
        (row,), = srv.query("SELECT id FROM mail_outbox")
        self.assertEqual(ids, {f"<{row}@k9.test>"})
        print(f"  mail: killed mid-send, sent again once with the same Message-ID {ids.pop()}")

    def test_stripe_webhooks_take_effect_once_across_a_kill(self):
        fake_port = free_port()
        fake = subprocess.Popen([sys.executable, os.path.join(ROOT, "server", "tests", "stripe_fake.py"),
                                 "--port", str(fake_port), "--secret-key", "sk_test_k9"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(fake.wait)
        self.addCleanup(fake.terminate)
        stripe = f"http://127.0.0.1:{fake_port}"

        def control(path, body=None):
            req = urllib.request.Request(f"{stripe}/_fake/{path}", method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())

        wait_for("the Stripe fake", lambda: _answers(f"{stripe}/_fake/events"), 30)
        self.server = srv = Server(STRIPE_SECRET_KEY="sk_test_k9", STRIPE_WEBHOOK_SECRET="whsec_k9",
                                   STRIPE_API_BASE=stripe, NEXUS_DEFAULT_PLAN="free")
        control("config", {"webhook_url": f"{srv.url}/stripe/webhook", "webhook_secret": "whsec_k9"})
        s = Session(srv)
        s.call("sign_up", {"email": "stripe-k9@example.com", "password": "correct horse battery"})
        s.call("sign_in", {"email": "stripe-k9@example.com", "password": "correct horse battery"})
        checkout = s.call("choose_plan", {"plan": "plus"})
        # "Subscribe" on the hosted page (its redirect back to the app is not followed).
        import requests
        self.assertEqual(requests.post(checkout + "/pay", allow_redirects=False, timeout=10).status_code, 303)
        wait_for("the subscription", lambda: srv.query(
            "SELECT COUNT(*) FROM subscriptions WHERE stripe_subscription_id IS NOT NULL")[0][0] == 1, 30)
        sub = control("state")["subs"][0]["id"]
        n = 30
        for i in range(n):
            control("trial_will_end", {"subscription": sub})
            if i == 9:
                # Killed while the first ten are being delivered; the other twenty are sent
                # while it is down (refused, as Stripe would see it).
                wait_for("some deliveries", lambda: sum(e["status"] == 200 for e in control("events")) >= 4, 60)
                srv.kill9()
        wait_for("every delivery tried", lambda: all(e["status"] is not None for e in control("events")), 60)
        delivered = sum(e["status"] == 200 for e in control("events"))
        self.assertLess(delivered, n + 2, "all delivered before the kill; the test proves nothing")
        srv.start()
        # Stripe retries what failed and may deliver any event again: every one is sent again.
        events = control("events")
        for e in events:
            control("resend", {"id": e["id"]})
        notes = lambda: srv.query(  # noqa: E731
            "SELECT COUNT(*) FROM notifications WHERE kind = 'trial_will_end'")[0][0]
        wait_for("every event applied", lambda: srv.query("SELECT COUNT(*) FROM stripe_events")[0][0] == len(events)
                 and notes() == n, 120)
        wait_for("the retries delivered", lambda: all(e["status"] == 200 for e in control("events")), 60)
        time.sleep(2)
        self.assertEqual(notes(), n, "each event took effect once")
        self.assertEqual(srv.query("SELECT COUNT(*) FROM subscriptions"), [(1,)])
        print(f"  stripe: killed after {delivered} of {len(events)} deliveries; {len(events)} events applied once each")


    def test_a_browser_upload_survives_the_server_dying_mid_way(self):
        import base64
        from awscrt import checksums
        self.server = srv = Server()
        home = tempfile.mkdtemp()
        src = os.path.join(home, "browser.bin")
        data = os.urandom(96 * MIB)  # 12 parts of 8 MiB
        with open(src, "wb") as f:
            f.write(data)
        shot = os.environ.get("KILL9_SHOT", os.path.join(home, "done.png"))
        p = subprocess.Popen(["node", os.path.join(ROOT, "end2end", "kill9-browser.js"), srv.url, src, shot],
                             cwd=os.path.join(ROOT, "end2end"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline().strip(), "uploading", p.stderr.read() if p.poll() else "")
        stored_now = lambda: {n for (n,) in srv.query(  # noqa: E731
            "SELECT part_number FROM upload_parts WHERE put_count > 0")}
        wait_for("3 parts stored", lambda: len(stored_now()) >= 3, 120)
        srv.kill9()
        stored = stored_now()
        self.assertLess(len(stored), 12, "the upload finished before the kill; the test proves nothing")
        self.assertEqual(srv.query("SELECT COUNT(*) FROM files WHERE state = 'available'"), [(0,)])
        srv.start()
        p.stdin.write("restarted\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 0, f"{out}\n{err}")
        self.assertIn("done", out)
        (size, crc, state), = srv.query("SELECT size, crc64nvme, state FROM files WHERE name = 'browser.bin'")
        self.assertEqual(state, "available")
        self.assertEqual(size, len(data))
        self.assertEqual(crc, base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode())
        counts = dict(srv.query("SELECT part_number, put_count FROM upload_parts"))
        self.assertEqual(len(counts), 12)
        self.assertTrue(all(counts[n] == 1 for n in stored), f"parts stored before the kill sent again: {counts}")
        how = [line for line in out.splitlines() if line.startswith("resumed")]
        print(f"  browser: killed with {len(stored)} of 12 parts stored; {how[0] if how else '?'}; "
              f"put counts {sorted(counts.items())}")


def _answers(url):
    try:
        urllib.request.urlopen(url, timeout=1).read()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
