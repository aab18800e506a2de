"""A webhook receiver for bench/load: answers 200 to every delivery and counts each event id
(`nexus-event-id`). On SIGTERM it writes {event id: deliveries} as JSON to the given file.

    python receiver.py <port> <out.json>
"""
import http.server
import json
import signal
import sys
import threading
from collections import Counter

port, out = int(sys.argv[1]), sys.argv[2]
seen = Counter()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            seen[self.headers.get("nexus-event-id", "")] += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)


def stop(*_):
    with open(out, "w") as f:
        json.dump(dict(seen), f)
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
