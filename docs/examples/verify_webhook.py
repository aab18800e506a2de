"""Receiving Nexus webhooks: check each delivery's signature before trusting it.

Every delivery is a POST whose `Nexus-Signature` header is `t=<unix seconds>,v1=<hex>`, the hex
being HMAC-SHA256 of `t + "." + body` keyed with the endpoint's signing secret (`whsec_…`, on
the Developer page). Retries carry the same `Nexus-Event-Id`: handle each id once.

Run it as a tiny receiver:  NEXUS_WEBHOOK_SECRET=whsec_… python3 verify_webhook.py 8080
(the tests in cli/tests/test_cli.py import `verify` from here and feed it real deliveries).
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(body: bytes, header: str, secret: str, tolerance: int = 300, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret`, made at most `tolerance` seconds ago."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((time.time() if now is None else now) - t) <= tolerance
    return fresh and hmac.compare_digest(expected, given)


class Receiver(BaseHTTPRequestHandler):
    secret = os.environ.get("NEXUS_WEBHOOK_SECRET", "")
    seen: set[str] = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verify(body, self.headers.get("Nexus-Signature", ""), self.secret):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in self.seen:  # a retry of an event already handled: just say 200
            self.seen.add(event["id"])
            print(event["type"], json.dumps(event["data"]))
        self.send_response(200)
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(sys.argv[1]) if len(sys.argv) > 1 else 8080), Receiver).serve_forever()
