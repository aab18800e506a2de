"""Fuzzes the REST API from its own OpenAPI document with schemathesis (from PyPI): every
operation, generated and mutated inputs (examples, coverage and fuzzing phases, a fixed seed
so a run can be repeated), as a signed-up account's admin-scope API key. The check is that no
answer is a server error (5xx); everything else (400s, 404s, 422s) is the API refusing bad
input, which is its job.

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
key = call(
    "create_api_key",
    {"new": {"name": "fuzz", "scopes": ["admin"]}},
    as_json=True,
)["secret"]

venv_bin = os.path.dirname(sys.executable)
cmd = [
    os.path.join(venv_bin, "schemathesis"),
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
    "--workers",
    "2",
    "--request-timeout",
    "30",
    "--continue-on-failure",
    "--suppress-health-check",
    "all",
    "--no-color",
]
env = dict(os.environ, SCHEMATHESIS_TELEMETRY="false")
run = subprocess.run(cmd, capture_output=True, text=True, env=env)
out = run.stdout + run.stderr
# The key is an admin key of a throwaway account; still, keep it out of the log.
print(out.replace(key, "<key>"))


def number(pattern):
    m = re.search(pattern, out)
    return int(m.group(1)) if m else None


operations = number(r"API Operations:\s+(\d+) selected") or number(r"(\d+) selected")
cases = number(r"Test cases:\s+(\d+) generated")
errors = len(re.findall(r"Server error", out))
print(f"fuzz: {operations} operations, {cases} cases, {errors} server errors")
sys.exit(0 if run.returncode == 0 and errors == 0 and cases else 1)
