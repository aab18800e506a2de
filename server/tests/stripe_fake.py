#!/usr/bin/env python3
"""A stateful local fake of the Stripe endpoints Nexus calls, answering in the shapes of
Stripe's current API (what async-stripe 1.x parses), with stand-ins for the hosted Checkout and
Billing Portal pages, and webhooks signed exactly as Stripe signs them:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.

No public fake speaks the current API here (localstripe answers in 2017 shapes; stripe-mock is
on no registry we reach), so the test tree keeps this one. Standard library only.

  python3 stripe_fake.py --port 12111 --secret-key sk_test_x

API (Bearer secret key): customers, prices (seeded: nexus_plus, nexus_pro, nexus_overage),
checkout sessions, billing portal sessions, subscriptions (retrieve, update price or
cancel_at_period_end), invoices (list, create_preview), billing meter events.
Hosted pages: GET /checkout/<id> (Pay / Cancel), GET /portal/<id> (switch plan, cancel at
period end, renew, back).
Test control (no key): POST /_fake/config {"webhook_url", "webhook_secret"}; POST
/_fake/advance {"seconds"} (moves the fake's clock: trials end, periods renew, cancellations
take effect, each with its webhooks); POST /_fake/fail_payments {"customer", "fail"}; POST
/_fake/trial_will_end {"subscription"}; GET /_fake/events; POST /_fake/resend {"id"};
GET /_fake/meter_events.
"""
import argparse
import hashlib
import hmac
import html
import itertools
import json
import queue
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
SEQ = itertools.count(1)
STATE = {
    "offset": 0,
    "customers": {},
    "sessions": {},
    "portals": {},
    "subs": {},
    "invoices": {},
    "meter_events": {},
    "events": [],
    "fail": set(),
    "webhook_url": None,
    "webhook_secret": None,
}
PRICES = {}


def now():
    return int(time.time()) + STATE["offset"]


def new_id(prefix):
    return f"{prefix}_{next(SEQ):06d}{int(time.time() * 1000) % 100000:05d}"


def price(pid, lookup, amount, usage="licensed"):
    recurring = {"interval": "month", "interval_count": 1, "usage_type": usage}
    p = {
        "id": pid, "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": 1700000000, "currency": "usd", "livemode": False, "lookup_key": lookup,
        "metadata": {}, "product": f"prod_{lookup}", "type": "recurring", "unit_amount": amount,
        "recurring": recurring, "nickname": lookup,
    }
    PRICES[pid] = p


price("price_plus", "nexus_plus", 600)
price("price_pro", "nexus_pro", 2000)
price("price_overage", "nexus_overage", 0, "metered")


def plan_of(p):
    return {
        "id": p["id"], "object": "plan", "active": True, "billing_scheme": "per_unit",
        "created": p["created"], "currency": "usd", "interval": "month", "interval_count": 1,
        "livemode": False, "usage_type": p["recurring"]["usage_type"], "amount": p["unit_amount"],
    }


def parse_form(body):
    """Stripe's form encoding (a[b][0][c]=v) into nested dicts and lists."""
    out = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        cur = out
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value
    return lists(out)


def lists(d):
    """{"0": x, "1": y} → [x, y], recursively."""
    if isinstance(d, dict):
        d = {k: lists(v) for k, v in d.items()}
        if d and all(k.isdigit() for k in d):
            return [d[k] for k in sorted(d, key=int)]
    return d


def sub_json(s):
    items = [{
        "id": it["id"], "object": "subscription_item", "created": s["created"],
        "current_period_start": s["period_start"], "current_period_end": s["period_end"],
        "discounts": [], "metadata": {}, "plan": plan_of(PRICES[it["price"]]),
        "price": PRICES[it["price"]], "subscription": s["id"],
        **({} if PRICES[it["price"]]["recurring"]["usage_type"] == "metered" else {"quantity": 1}),
    } for it in s["items"]]
    return {
        "id": s["id"], "object": "subscription", "automatic_tax": {"enabled": False},
        "billing_cycle_anchor": s["created"], "billing_mode": {"type": "classic"},
        "billing_schedules": [], "cancel_at_period_end": s["cancel_at_period_end"],
        "canceled_at": s.get("canceled_at"), "collection_method": "charge_automatically",
        "created": s["created"], "currency": "usd", "customer": s["customer"], "discounts": [],
        "invoice_settings": {"issuer": {"type": "self"}},
        "items": {"object": "list", "data": items, "has_more": False,
                  "url": f"/v1/subscription_items?subscription={s['id']}"},
        "livemode": False, "metadata": s.get("metadata", {}), "start_date": s["created"],
        "status": s["status"], "trial_end": s.get("trial_end"), "trial_start": s.get("trial_start"),
    }


def invoice_json(inv):
    lines = [{
        "id": f"il_{inv['id']}_{i}", "object": "line_item", "amount": l["amount"], "currency": "usd",
        "description": l["description"], "discountable": True, "discounts": [], "livemode": False,
        "metadata": {}, "period": {"start": inv["period_start"], "end": inv["period_end"]},
        "subtotal": l["amount"],
    } for i, l in enumerate(inv["lines"])]
    total = sum(l["amount"] for l in inv["lines"])
    paid = inv["status"] == "paid"
    out = {
        "object": "invoice", "amount_due": total, "amount_overpaid": 0,
        "amount_paid": total if paid else 0, "amount_remaining": 0 if paid else total,
        "amount_shipping": 0, "attempt_count": inv.get("attempts", 1), "attempted": inv["status"] != "draft",
        "automatic_tax": {"enabled": False}, "collection_method": "charge_automatically",
        "created": inv["created"], "currency": "usd", "customer": inv["customer"],
        "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": {"object": "list", "data": lines, "has_more": False, "url": "/v1/invoices/lines"},
        "livemode": False, "payment_settings": {}, "period_end": inv["period_end"],
        "period_start": inv["period_start"], "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "starting_balance": 0, "status": inv["status"],
        "status_transitions": {}, "subtotal": total, "total": total,
        "hosted_invoice_url": inv.get("url"), "number": inv.get("number"),
        "subscription": inv.get("subscription"),
    }
    if inv.get("id"):
        out["id"] = inv["id"]
    return out


def session_json(cs):
    return {
        "id": cs["id"], "object": "checkout.session", "automatic_tax": {"enabled": False},
        "created": cs["created"], "custom_fields": [], "custom_text": {}, "expires_at": cs["created"] + 86400,
        "livemode": False, "mode": "subscription", "payment_method_types": ["card"],
        "payment_status": cs["payment_status"], "shipping_options": [], "status": cs["status"],
        "url": cs["url"], "client_reference_id": cs.get("client_reference_id"),
        "customer": cs.get("customer"), "subscription": cs.get("subscription"),
        "success_url": cs["success_url"], "cancel_url": cs["cancel_url"],
        "metadata": cs.get("metadata", {}),
    }


def send_event(etype, obj, previous=None):
    """Records the event and posts it, signed, to the webhook URL (in a thread)."""
    evt = {
        "id": new_id("evt"), "object": "event", "api_version": "2026-09-30.endive",
        "created": now(), "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": etype,
        "data": {"object": obj},
    }
    if previous is not None:
        evt["data"]["previous_attributes"] = previous
    STATE["events"].append({"event": evt, "status": None})
    OUTBOX.put(STATE["events"][-1])
    return evt


OUTBOX = queue.Queue()


def sender():
    """Delivers events one at a time, in order, outside the state lock (the app's handler may
    call back into this fake)."""
    while True:
        entry = OUTBOX.get()
        deliver(entry)
        OUTBOX.task_done()


def deliver(entry):
    url, secret = STATE["webhook_url"], STATE["webhook_secret"]
    if not url or not secret:
        return
    payload = json.dumps(entry["event"], separators=(",", ":"))
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": f"t={t},v1={sig}",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            entry["status"] = r.status
    except urllib.error.HTTPError as e:
        entry["status"] = e.code
    except Exception as e:  # noqa: BLE001 - a fake reports, never raises
        entry["status"] = f"error: {e}"


def make_invoice(s, lines, status):
    inv = {
        "id": new_id("in"), "customer": s["customer"], "subscription": s["id"], "created": now(),
        "period_start": s["period_start"], "period_end": s["period_end"], "lines": lines,
        "status": status, "number": f"NX-{next(SEQ):04d}", "seq": next(SEQ),
    }
    inv["url"] = f"{BASE}/invoice/{inv['id']}"
    STATE["invoices"][inv["id"]] = inv
    return inv


def metered_amount(customer, start, end):
    units = sum(int(float(e["payload"].get("value", "0"))) for e in STATE["meter_events"].values()
                if e["payload"].get("stripe_customer_id") == customer and start <= e["timestamp"] < end)
    return units, units * 1  # 1 cent per unit (the app reports cents of overage)


def charge(s, reason):
    """Bills the period just started: paid, or failed when the customer's payments fail."""
    p = PRICES[s["price"]]
    units, amount = metered_amount(s["customer"], s["period_start"] - 30 * 86400, s["period_start"])
    lines = [{"amount": p["unit_amount"], "description": f"{p['lookup_key']} ({reason})"}]
    if units:
        lines.append({"amount": amount, "description": f"Metered usage: {units} units"})
    failing = s["customer"] in STATE["fail"]
    inv = make_invoice(s, lines, "open" if failing else "paid")
    if failing:
        prev = {"status": s["status"]}
        s["status"] = "past_due"
        send_event("invoice.payment_failed", invoice_json(inv))
        send_event("customer.subscription.updated", sub_json(s), prev)
    else:
        send_event("invoice.paid", invoice_json(inv))
        if s["status"] != "active":
            prev = {"status": s["status"]}
            s["status"] = "active"
            send_event("customer.subscription.updated", sub_json(s), prev)


def advance(seconds):
    STATE["offset"] += seconds
    t = now()
    for s in list(STATE["subs"].values()):
        if s["status"] == "canceled":
            continue
        if s["status"] == "trialing" and s.get("trial_end") and not s.get("warned") and t >= s["trial_end"] - 3 * 86400:
            s["warned"] = True
            send_event("customer.subscription.trial_will_end", sub_json(s))
        while s["status"] != "canceled" and t >= s["period_end"]:
            if s["cancel_at_period_end"]:
                s["status"] = "canceled"
                s["canceled_at"] = s["period_end"]
                send_event("customer.subscription.deleted", sub_json(s))
                break
            s["period_start"] = s["period_end"]
            s["period_end"] = s["period_start"] + 30 * 86400
            if s["status"] == "trialing":
                s["trial_end"] = s["period_start"]
            charge(s, "renewal")


def error(status, message, code=None, etype="invalid_request_error"):
    return status, {"error": {"type": etype, "message": message, "code": code}}


def api(method, path, form, query):
    """The /v1 API: (status, JSON)."""
    parts = path.strip("/").split("/")[1:]
    if method == "POST" and parts == ["customers"]:
        c = {"id": new_id("cus"), "object": "customer", "created": now(), "livemode": False,
             "email": form.get("email"), "name": form.get("name"), "metadata": form.get("metadata", {})}
        STATE["customers"][c["id"]] = c
        return 200, c
    if parts[:1] == ["customers"] and len(parts) == 2:
        c = STATE["customers"].get(parts[1])
        return (200, c) if c else error(404, f"No such customer: '{parts[1]}'", "resource_missing")
    if method == "GET" and parts == ["prices"]:
        keys = query.get("lookup_keys[]", []) + query.get("lookup_keys", [])
        data = [p for p in PRICES.values() if not keys or p["lookup_key"] in keys]
        return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/prices"}
    if parts[:1] == ["prices"] and len(parts) == 2:
        p = PRICES.get(parts[1])
        return (200, p) if p else error(404, f"No such price: '{parts[1]}'", "resource_missing")
    if method == "POST" and parts == ["checkout", "sessions"]:
        if form.get("mode") != "subscription":
            return error(400, "Only subscription mode is faked.", "parameter_invalid")
        items = form.get("line_items") or []
        if not items or any(i.get("price") not in PRICES for i in items):
            return error(400, "Each line_items[n][price] must name a price.", "resource_missing")
        for i in items:
            metered = PRICES[i["price"]]["recurring"]["usage_type"] == "metered"
            if metered and i.get("quantity"):
                return error(400, "Quantity should not be specified where usage_type is `metered`.",
                             "parameter_invalid")
            if not metered and not i.get("quantity"):
                return error(400, "Quantity is required.", "parameter_missing")
        licensed = [i["price"] for i in items if PRICES[i["price"]]["recurring"]["usage_type"] == "licensed"]
        if len(licensed) != 1:
            return error(400, "Exactly one licensed price is faked.", "parameter_invalid")
        for k in ("success_url", "cancel_url"):
            if not form.get(k):
                return error(400, f"Missing required param: {k}.", "parameter_missing")
        cs = {"id": new_id("cs_test"), "created": now(), "status": "open", "payment_status": "unpaid",
              "price": licensed[0], "prices": [i["price"] for i in items], "customer": form.get("customer"),
              "client_reference_id": form.get("client_reference_id"),
              "trial_days": int((form.get("subscription_data") or {}).get("trial_period_days") or 0),
              "collect": form.get("payment_method_collection", "always"),
              "success_url": form["success_url"], "cancel_url": form["cancel_url"],
              "metadata": form.get("metadata", {})}
        cs["url"] = f"{BASE}/checkout/{cs['id']}"
        STATE["sessions"][cs["id"]] = cs
        return 200, session_json(cs)
    if method == "POST" and parts == ["billing_portal", "sessions"]:
        if form.get("customer") not in STATE["customers"]:
            return error(400, "No such customer.", "resource_missing")
        ps = {"id": new_id("bps"), "object": "billing_portal.session", "configuration": "bpc_fake",
              "created": now(), "customer": form["customer"], "livemode": False,
              "return_url": form.get("return_url")}
        ps["url"] = f"{BASE}/portal/{ps['id']}"
        STATE["portals"][ps["id"]] = ps
        return 200, ps
    if parts[:1] == ["subscriptions"] and len(parts) == 2:
        s = STATE["subs"].get(parts[1])
        if not s:
            return error(404, f"No such subscription: '{parts[1]}'", "resource_missing")
        if method == "POST":
            update_sub(s, form)
        return 200, sub_json(s)
    if method == "GET" and parts == ["invoices"]:
        cus = (query.get("customer") or [None])[0]
        data = [invoice_json(i) for i in sorted(STATE["invoices"].values(), key=lambda i: (i["created"], i["seq"]), reverse=True)
                if i["customer"] == cus]
        return 200, {"object": "list", "data": data[: int((query.get("limit") or ["10"])[0])],
                     "has_more": False, "url": "/v1/invoices"}
    if method == "POST" and parts == ["invoices", "create_preview"]:
        s = STATE["subs"].get(form.get("subscription", ""))
        if not s or s["customer"] != form.get("customer"):
            return error(400, "No upcoming invoice for this customer.", "invoice_upcoming_none")
        p = PRICES[s["price"]]
        units, amount = metered_amount(s["customer"], s["period_start"], s["period_end"])
        lines = [{"amount": p["unit_amount"], "description": p["lookup_key"]}]
        if units:
            lines.append({"amount": amount, "description": f"Metered usage: {units} units"})
        inv = {"id": None, "customer": s["customer"], "subscription": s["id"], "created": now(),
               "period_start": s["period_end"], "period_end": s["period_end"] + 30 * 86400,
               "lines": lines, "status": "draft"}
        return 200, invoice_json(inv)
    if method == "POST" and parts == ["billing", "meter_events"]:
        ident = form.get("identifier") or new_id("mev")
        if ident in STATE["meter_events"]:
            return error(400, f"An event already exists with identifier {ident}.", "resource_already_exists")
        payload = form.get("payload") or {}
        if payload.get("stripe_customer_id") not in STATE["customers"]:
            return error(400, "payload[stripe_customer_id] must name a customer.", "resource_missing")
        e = {"object": "billing.meter_event", "created": now(), "event_name": form.get("event_name"),
             "identifier": ident, "livemode": False, "payload": payload,
             "timestamp": int(form.get("timestamp") or now())}
        STATE["meter_events"][ident] = e
        return 200, e
    return error(404, f"Unrecognized request URL ({method}: {path}).")


def update_sub(s, form):
    prev = {}
    items = form.get("items") or []
    if items and items[0].get("price"):
        target = next((it for it in s["items"] if it["id"] == items[0].get("id")), None)
        if items[0]["price"] not in PRICES or target is None:
            return
        prev["items"] = {"data": [{"price": {"id": s["price"]}}]}
        old, s["price"] = PRICES[s["price"]], items[0]["price"]
        target["price"] = s["price"]
        new = PRICES[s["price"]]
        if form.get("proration_behavior", "create_prorations") != "none" and s["status"] == "active":
            left = max(0, s["period_end"] - now()) / (30 * 86400)
            amount = round((new["unit_amount"] - old["unit_amount"]) * left)
            inv = make_invoice(s, [{"amount": amount, "description": "Proration"}], "paid")
            send_event("invoice.paid", invoice_json(inv))
    if "cancel_at_period_end" in form:
        prev["cancel_at_period_end"] = s["cancel_at_period_end"]
        s["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
    send_event("customer.subscription.updated", sub_json(s), prev)


def complete_checkout(cs):
    if cs["status"] != "open":
        return
    if not cs.get("customer"):
        c = {"id": new_id("cus"), "object": "customer", "created": now(), "livemode": False, "metadata": {}}
        STATE["customers"][c["id"]] = c
        cs["customer"] = c["id"]
    t = now()
    s = {"id": new_id("sub"), "customer": cs["customer"], "price": cs["price"],
         "items": [{"id": new_id("si"), "price": p} for p in cs["prices"]],
         "created": t, "cancel_at_period_end": False, "metadata": cs.get("metadata", {})}
    if cs["trial_days"]:
        s.update(status="trialing", trial_start=t, trial_end=t + cs["trial_days"] * 86400,
                 period_start=t, period_end=t + cs["trial_days"] * 86400)
    else:
        s.update(status="incomplete", period_start=t, period_end=t + 30 * 86400)
    STATE["subs"][s["id"]] = s
    cs.update(status="complete", payment_status="no_payment_required" if cs["trial_days"] else "paid",
              subscription=s["id"])
    send_event("customer.subscription.created", sub_json(s))
    send_event("checkout.session.completed", session_json(cs))
    if not cs["trial_days"]:
        charge(s, "first month")


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto}}button{{margin:.3rem}}</style></head>
<body><h1>{title}</h1><p><em>Stripe test stand-in (Nexus test tree)</em></p>{body}</body></html>"""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else (json.dumps(body) if ctype == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", new_id("req"))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, to):
        self.reply(303, b"", "text/plain", [("Location", to)])

    def page(self, title, body):
        self.reply(200, PAGE.format(title=html.escape(title), body=body), "text/html; charset=utf-8")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        raw = self.body() if method == "POST" else ""
        if url.path == "/_fake/flush":
            OUTBOX.join()  # every event so far delivered (answered by the app)
        with LOCK:
            if url.path.startswith("/v1/"):
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    return self.reply(*error(401, "Invalid API Key provided.", None, "invalid_request_error"))
                status, out = api(method, url.path, parse_form(raw), query)
                return self.reply(status, out)
            if url.path.startswith("/_fake/"):
                return self.control(method, url.path, json.loads(raw or "{}"))
            return self.hosted(method, url.path)

    def control(self, method, path, args):
        if path == "/_fake/flush":
            return self.reply(200, {"ok": True})
        if path == "/_fake/config":
            STATE["webhook_url"], STATE["webhook_secret"] = args.get("webhook_url"), args.get("webhook_secret")
            return self.reply(200, {"ok": True})
        if path == "/_fake/advance":
            advance(int(args.get("seconds", 0)))
            return self.reply(200, {"now": now()})
        if path == "/_fake/fail_payments":
            (STATE["fail"].add if args.get("fail", True) else STATE["fail"].discard)(args["customer"])
            return self.reply(200, {"ok": True})
        if path == "/_fake/trial_will_end":
            s = STATE["subs"][args["subscription"]]
            send_event("customer.subscription.trial_will_end", sub_json(s))
            return self.reply(200, {"ok": True})
        if path == "/_fake/events":
            return self.reply(200, [{"id": e["event"]["id"], "type": e["event"]["type"], "status": e["status"]}
                                    for e in STATE["events"]])
        if path == "/_fake/resend":
            for e in STATE["events"]:
                if e["event"]["id"] == args["id"]:
                    OUTBOX.put(e)
                    return self.reply(200, {"queued": True})
            return self.reply(404, {"error": "no such event"})
        if path == "/_fake/meter_events":
            return self.reply(200, list(STATE["meter_events"].values()))
        if path == "/_fake/state":
            return self.reply(200, {"subs": [sub_json(s) for s in STATE["subs"].values()]})
        return self.reply(404, {"error": "unknown control"})

    def hosted(self, method, path):
        parts = path.strip("/").split("/")
        if parts[0] == "checkout" and len(parts) >= 2 and parts[1] in STATE["sessions"]:
            cs = STATE["sessions"][parts[1]]
            if method == "POST" and parts[2:] == ["pay"]:
                complete_checkout(cs)
                return self.redirect(cs["success_url"].replace("{CHECKOUT_SESSION_ID}", cs["id"]))
            if method == "POST" and parts[2:] == ["cancel"]:
                cs["status"] = "expired"
                return self.redirect(cs["cancel_url"])
            p = PRICES[cs["price"]]
            trial = f"<p>Free for {cs['trial_days']} days, then</p>" if cs["trial_days"] else ""
            card = ("" if cs["collect"] == "if_required" and cs["trial_days"] else
                    '<p><label>Card number <input name="card" value="4242 4242 4242 4242" autocomplete="off"></label></p>')
            return self.page(f"Subscribe to {p['lookup_key']}", f"""{trial}
<p><strong>${p['unit_amount'] / 100:.2f} per month</strong></p>
<form method="post" action="/checkout/{cs['id']}/pay">{card}<button type="submit">Subscribe</button></form>
<form method="post" action="/checkout/{cs['id']}/cancel"><button type="submit">Cancel and go back</button></form>""")
        if parts[0] == "portal" and len(parts) >= 2 and parts[1] in STATE["portals"]:
            ps = STATE["portals"][parts[1]]
            subs = [s for s in STATE["subs"].values() if s["customer"] == ps["customer"] and s["status"] != "canceled"]
            if method == "POST" and len(parts) == 3 and subs:
                s = subs[0]
                if parts[2] == "cancel":
                    update_sub(s, {"cancel_at_period_end": "true"})
                elif parts[2] == "renew":
                    update_sub(s, {"cancel_at_period_end": "false"})
                elif parts[2] in PRICES:
                    plan_item = next(it for it in s["items"] if it["price"] == s["price"])
                    update_sub(s, {"items": [{"id": plan_item["id"], "price": parts[2]}],
                                   "proration_behavior": "create_prorations"})
                return self.redirect(ps["return_url"])
            body = ""
            for s in subs:
                p = PRICES[s["price"]]
                body += f"<p>Plan: <strong>{p['lookup_key']}</strong> ({s['status']})</p>"
                for other in ("price_plus", "price_pro"):
                    if other != s["price"]:
                        body += f'<form method="post" action="/portal/{ps["id"]}/{other}"><button>Switch to {PRICES[other]["lookup_key"]}</button></form>'
                action = "renew" if s["cancel_at_period_end"] else "cancel"
                label = "Renew plan" if s["cancel_at_period_end"] else "Cancel plan"
                body += f'<form method="post" action="/portal/{ps["id"]}/{action}"><button>{label}</button></form>'
            invs = [i for i in STATE["invoices"].values() if i["customer"] == ps["customer"]]
            body += "<h2>Invoices</h2><ul>" + "".join(
                f"<li>{i['number']}: ${sum(l['amount'] for l in i['lines']) / 100:.2f} ({i['status']})</li>" for i in invs) + "</ul>"
            body += f'<p><a href="{html.escape(ps["return_url"] or "/")}">Return to Nexus</a></p>'
            return self.page("Manage your subscription", body)
        if parts[0] == "invoice" and len(parts) == 2 and parts[1] in STATE["invoices"]:
            i = STATE["invoices"][parts[1]]
            rows = "".join(f"<li>{html.escape(l['description'])}: ${l['amount'] / 100:.2f}</li>" for l in i["lines"])
            return self.page(f"Invoice {i['number']}", f"<ul>{rows}</ul><p>Status: {i['status']}</p>")
        return self.reply(404, "not found", "text/plain")


def main():
    global BASE, SECRET_KEY
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=12111)
    ap.add_argument("--secret-key", default="sk_test_nexus")
    a = ap.parse_args()
    BASE, SECRET_KEY = f"http://127.0.0.1:{a.port}", a.secret_key
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    threading.Thread(target=sender, daemon=True).start()
    print(f"stripe fake on {BASE}", flush=True)
    srv.serve_forever()


BASE = ""
SECRET_KEY = ""
if __name__ == "__main__":
    main()
