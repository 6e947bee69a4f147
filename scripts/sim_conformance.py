#!/usr/bin/env python3
"""Outside conformance check of `mediajobs sim` against PROVIDERS.md and the simulator contract.

Usage: python3 scripts/sim_conformance.py path/to/mediajobs

Knows only the shared `specs/PROVIDERS.md` and the "The simulator" contract of `DESIGN.md` (readiness
line, sim time, `/_sim/clock`, `/_sim/stats`); it reads none of the Rust sources. It starts
`mediajobs sim --addr 127.0.0.1:0 --speed 600`, then for each provider submits, polls, cancels,
lists, hydrates, downloads, provokes the documented errors and receives signed webhooks on a local
`http.server`, checking every documented field. One line per check (`PASS ...` / `FAIL ...:
expected ..., got ...`), then `N passed, M failed`; the exit status is 1 if any check failed.

Python 3 standard library only. Every wait is bounded; the whole run takes well under 60 s, and
the simulator is killed at the end, also on error.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPEED = 600.0
WALL_BUDGET = 55.0  # real seconds for the whole run
POLL_TIMEOUT = 15.0  # real seconds for one group of jobs to become terminal
WEBHOOK_WAIT = 5.0  # real seconds to wait for expected deliveries
DAY = 86400.0

T_START = time.monotonic()


# --------------------------------------------------------------------------------------------
# Checks and output
# --------------------------------------------------------------------------------------------
class Checker:
    def __init__(self):
        self.passed = set()
        self.failed = set()
        self.lock = threading.Lock()

    def ok(self, name, cond, expected="", got=""):
        """Record one named check; a name is printed once (its first failure wins over passes)."""
        with self.lock:
            if cond:
                if name in self.passed or name in self.failed:
                    return True
                self.passed.add(name)
                print(f"PASS {name}", flush=True)
            else:
                if name in self.failed:
                    return False
                self.passed.discard(name)
                self.failed.add(name)
                print(f"FAIL {name}: expected {expected}, got {short(got)}", flush=True)
        return bool(cond)

    def eq(self, name, got, expected):
        return self.ok(name, got == expected, repr(expected), repr(got))

    def summary(self):
        return f"{len(self.passed)} passed, {len(self.failed)} failed"


C = Checker()


def short(v, n=400):
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "…"


def info(msg):
    print(f"# {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------
ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})$")


def parse_iso(s):
    """ISO 8601 / RFC 3339 date-time with offset -> unix seconds (float), or None."""
    if not isinstance(s, str) or not ISO_RE.match(s):
        return None
    try:
        return datetime.fromisoformat(s.replace("z", "Z")).timestamp()
    except ValueError:
        return None


class SimClock:
    """Sim now, extrapolated from one read of {admin}/clock (sim now + F x real elapsed)."""

    def __init__(self, now, speed):
        self.base = now
        self.speed = speed
        self.mono = time.monotonic()

    def now(self):
        return self.base + self.speed * (time.monotonic() - self.mono)


CLOCK = None


def sim_sleep(sim_seconds, floor=0.002):
    time.sleep(max(floor, float(sim_seconds) / SPEED))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------------------------
# HTTP client (no redirects followed; every API request tallied per provider)
# --------------------------------------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"{self.status} {short(self.body.decode('utf-8', 'replace'), 300)}"


BASES = {}  # provider -> base url
TALLY = {}  # provider -> {"requests": n, "2xx": n, "4xx": n, "429": n, "5xx": n, "none": n}
DOWNLOADS = {}  # provider -> {"attempts": n, "ok": n}
VG_ANSWERS = []  # (route label, Resp) of every VideoGen API answer


def _raw(method, url, body=None, headers=None, timeout=10.0):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
    elif method in ("POST", "PUT"):
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return Resp(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())
    except Exception as e:  # connection closed, timeout, ...
        return Resp(None, {}, repr(e).encode())


DATES = []  # (provider, Date header, sim now at receipt)


def api(provider, method, path, body=None, headers=None, label=None):
    url = BASES[provider] + path
    r = _raw(method, url, body, headers)
    if CLOCK and r.status is not None:
        DATES.append((provider, r.h("date"), CLOCK.now()))
    t = TALLY.setdefault(provider, {"requests": 0, "2xx": 0, "4xx": 0, "429": 0, "5xx": 0, "none": 0})
    t["requests"] += 1
    if r.status is None:
        t["none"] += 1
    elif r.status == 429:
        t["429"] += 1
    elif 200 <= r.status < 300:
        t["2xx"] += 1
    elif 400 <= r.status < 500:
        t["4xx"] += 1
    elif r.status >= 500:
        t["5xx"] += 1
    if provider == "videogen":
        VG_ANSWERS.append((label or f"{method} {path}", r))
    return r


def download(provider, name, url, want_type, want_len=None):
    """GET a result URL; check 200, content type prefix, Content-Length == body length > 0."""
    d = DOWNLOADS.setdefault(provider, {"attempts": 0, "ok": 0})
    d["attempts"] += 1
    if not C.ok(f"{name} is an absolute http(s) URL", isinstance(url, str) and re.match(r"^https?://", url or ""),
                "a URL", url):
        return None
    r = _raw("GET", url)
    good = C.ok(f"{name} download answers 200", r.status == 200, 200, r)
    if not good:
        return r
    d["ok"] += 1
    ct = r.h("content-type") or ""
    C.ok(f"{name} download content type {want_type}*", ct.startswith(want_type), f"{want_type}…", ct)
    cl = r.h("content-length")
    C.ok(f"{name} download Content-Length equals body length (> 0)",
         cl is not None and cl.isdigit() and int(cl) == len(r.body) and len(r.body) > 0,
         f"Content-Length == {len(r.body)} > 0", cl)
    if want_type == "image/png" or ct.startswith("image/png"):
        C.ok(f"{name} is a PNG", r.body.startswith(b"\x89PNG\r\n\x1a\n"), "PNG signature", r.body[:8])
    if want_len is not None:
        C.eq(f"{name} download length equals the documented size field", len(r.body), want_len)
    return r


# --------------------------------------------------------------------------------------------
# Webhook receiver
# --------------------------------------------------------------------------------------------
class Deliveries:
    def __init__(self):
        self.items = []  # dict(path, headers, body, sim_now)
        self.cv = threading.Condition()

    def add(self, item):
        with self.cv:
            self.items.append(item)
            self.cv.notify_all()

    def matching(self, pred):
        with self.cv:
            return [d for d in self.items if pred(d)]

    def wait_for(self, pred, count=1, timeout=WEBHOOK_WAIT):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                got = [d for d in self.items if pred(d)]
                left = end - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.cv.wait(min(left, 0.05))


DELIVERIES = Deliveries()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        DELIVERIES.add({
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "sim_now": CLOCK.now() if CLOCK else None,
        })
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, *args):
        pass


def body_json(d):
    try:
        return json.loads(d["body"])
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Signatures, exactly as PROVIDERS.md states them
# --------------------------------------------------------------------------------------------
def stdwh_sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def stdwh_verify(secret, headers, body):
    msg_id, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return False
    want = stdwh_sign(secret, msg_id, ts, body).split(",", 1)[1]
    for entry in sigs.split(" "):
        ver, _, sig = entry.partition(",")
        if ver == "v1" and hmac.compare_digest(sig.encode(), want.encode()):
            return True
    return False


def vibepeak_verify(secret, headers, body):
    ts, sig = headers.get("x-vibepeak-timestamp"), headers.get("x-vibepeak-signature")
    if not (ts and sig):
        return False
    if sig.startswith("sha256="):
        sig = sig[len("sha256="):]
    want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig.encode(), want.encode())


def vidiking_verify(secret, headers, body):
    sig = headers.get("x-vidiking-signature")
    if not sig:
        return False
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig.encode(), want.encode())


def canonical_sha(method, path, body):
    """body_sha256 of the stats contract: SHA-256 of "{METHOD} {path}\\n{canonical JSON}"."""
    b = {k: v for k, v in body.items() if k not in ("webhook_url", "callback")}
    text = json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{text}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Common helpers
# --------------------------------------------------------------------------------------------
def check_time_near_sim(name, ts, tolerance=600.0):
    """A timestamp the sim states must be sim time: near sim now (not wall clock)."""
    now = CLOCK.now()
    return C.ok(f"{name} is sim time (within {int(tolerance)} sim s of sim now)",
                ts is not None and abs(ts - now) <= tolerance,
                f"≈ {now:.0f}", ts)


def walk_keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from walk_keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk_keys(v)


def wait_retry_after(r, default=1.0):
    ra = r.h("retry-after")
    sim_sleep(int(ra) if ra and ra.isdigit() else default)


def past_deadline():
    return time.monotonic() - T_START > WALL_BUDGET - 8


# ============================================================================================
# VibePeak
# ============================================================================================
VP_SCRIPT_WORDS = ("Welcome to this bright family home on a quiet street. The open kitchen flows into a sunny living "
                   "room, and large windows frame the garden. Upstairs you will find calm bedrooms, a modern bath and "
                   "plenty of storage. Book your private tour today and picture your next chapter here, surrounded by "
                   "light and space, close to parks, shops and good schools for the whole family")


def vp_script(n):
    s = (VP_SCRIPT_WORDS + " ") * 3
    s = s[:n]
    return s[:-1] + "." if s.endswith(" ") else s


def vp_images(n, tag):
    rooms = ["front", "kitchen", "living", "dining", "bedroom", "bath", "garden", "garage", "office", "hall",
             "porch", "attic", "cellar", "pool", "view", "roof"]
    return [f"https://images.example.com/listings/{tag}/{rooms[i]}.jpg" for i in range(n)]


def vp_error(name, r, status, code=None, field=None):
    C.eq(f"{name}: status", r.status, status)
    j = r.json if isinstance(r.json, dict) else {}
    err = j.get("error") if isinstance(j.get("error"), dict) else None
    if not C.ok(f"{name}: body {{error: {{code, message, request_id}}}}",
                err is not None and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)
                and isinstance(err.get("request_id"), str), "error object with code, message, request_id", r):
        return
    C.ok(f"{name}: request_id starts with req_", err["request_id"].startswith("req_"), "req_…", err["request_id"])
    if code:
        C.eq(f"{name}: code", err.get("code"), code)
    if field:
        C.ok(f"{name}: details names the field {field!r}", field in json.dumps(err.get("details")),
             f"details mentioning {field}", err.get("details"))
    return err


def vp_check_answer(tag, t, r, statuses_seen):
    j = r.json if isinstance(r.json, dict) else {}
    st = j.get("status")
    statuses_seen.append(st)
    p = f"vibepeak {tag} status [{st}]"
    C.eq(f"{p} HTTP 200", r.status, 200)
    C.ok(f"{p} status is documented", st in ("queued", "processing", "completed", "failed"),
         "queued|processing|completed|failed", st)
    C.eq(f"{p} task_id", j.get("task_id"), t["id"])
    C.eq(f"{p} created_at unchanged since submit", j.get("created_at"), t["created_at"])
    C.ok(f"{p} livemode is false (test key)", j.get("livemode") is False, False, j.get("livemode"))
    if st == "queued":
        C.ok(f"{p} queue_position integer >= 0", is_int(j.get("queue_position")) and j["queue_position"] >= 0,
             "int >= 0", j.get("queue_position"))
        C.ok(f"{p} estimated_completion ISO 8601", parse_iso(j.get("estimated_completion")) is not None,
             "ISO 8601", j.get("estimated_completion"))
    if st in ("queued", "processing"):
        ra = r.h("retry-after")
        C.ok(f"{p} Retry-After integer seconds while not terminal", ra is not None and ra.isdigit(), "integer", ra)
    if st == "processing":
        t["started_at"] = j.get("started_at")
    if st == "completed" and "started_at" not in j and t.get("started_at"):
        j = dict(j, started_at=t["started_at"])
    if st in ("processing", "failed"):
        sa = parse_iso(j.get("started_at"))
        C.ok(f"{p} started_at ISO 8601 >= created_at", sa is not None and sa >= parse_iso(t["created_at"]) - 1,
             ">= created_at", j.get("started_at"))
    if st in ("completed", "failed"):
        ca = parse_iso(j.get("completed_at"))
        C.ok(f"{p} completed_at ISO 8601 >= created_at", ca is not None and ca >= parse_iso(t["created_at"]) - 1,
             ">= created_at", j.get("completed_at"))
        sa = parse_iso(j.get("started_at"))
        if st == "completed" and ca is not None and sa is not None:
            C.ok(f"{p} duration in the documented 4-10 min (sim time: completed_at - created_at >= 4 min, "
                 f"completed_at - started_at <= 10 min)",
                 ca - parse_iso(t["created_at"]) >= 240 - 5 and ca - sa <= 600 + 5, "240 s .. 600 s",
                 f"total {ca - parse_iso(t['created_at']):.0f} s, processing {ca - sa:.0f} s")
    if st == "failed":
        err = j.get("error")
        C.ok(f"{p} error {{code, message}}", isinstance(err, dict) and isinstance(err.get("code"), str)
             and isinstance(err.get("message"), str), "{code, message}", err)
        C.ok(f"{p} no result", j.get("result") is None, "no result", j.get("result"))
    if st == "completed":
        res = j.get("result")
        if C.ok(f"{p} result object", isinstance(res, dict), "object", res):
            C.ok(f"{p} result.video_url", isinstance(res.get("video_url"), str), "URL", res.get("video_url"))
            C.ok(f"{p} result.cover_image_url", isinstance(res.get("cover_image_url"), str), "URL",
                 res.get("cover_image_url"))
            C.ok(f"{p} result.duration_seconds integer > 0",
                 is_int(res.get("duration_seconds")) and res["duration_seconds"] > 0, "integer > 0",
                 res.get("duration_seconds"))
            C.ok(f"{p} result.resolution like 1080p", isinstance(res.get("resolution"), str)
                 and re.match(r"^\d+p$", res["resolution"]) is not None, "e.g. '1080p'", res.get("resolution"))
            ea = parse_iso(res.get("expires_at"))
            C.ok(f"{p} result.expires_at ISO 8601, 7 days ahead in sim time",
                 ea is not None and abs(ea - (CLOCK.now() + 7 * DAY)) <= 3 * 3600,
                 f"≈ sim now + 7 d ({CLOCK.now() + 7 * DAY:.0f})", res.get("expires_at"))
    return j


def run_vibepeak(ready):
    info("VibePeak")
    key = ready["api_keys"]["vibepeak"]
    secret = ready["webhook_secrets"]["vibepeak"]
    auth = {"Authorization": f"Bearer {key}"}
    hook = f"{RECV}/vibepeak"
    C.ok("vibepeak api key is a test key (vpk_test_…)", key.startswith("vpk_test_"), "vpk_test_…", key)

    r = api("vibepeak", "GET", "/health")
    C.eq("vibepeak GET /health without a key: 200", r.status, 200)

    def body(n=6, tag="a", script_len=None, **extra):
        b = {"images": vp_images(n, tag), "voice": {"voice_id": "voice_emma", "language": "en"},
             "script": vp_script(script_len or 45 * n)}
        b.update(extra)
        return b

    path = "/v1/real-estate/narrated-slideshow"
    # --- documented errors -------------------------------------------------------------------
    vp_error("vibepeak submit without a key", api("vibepeak", "POST", path, body()), 401, "MISSING_API_KEY")
    vp_error("vibepeak submit with an unknown key",
             api("vibepeak", "POST", path, body(), {"Authorization": "Bearer vpk_test_doesnotexist"}), 401,
             "INVALID_API_KEY")
    vp_error("vibepeak GET unknown task", api("vibepeak", "GET", "/v1/tasks/task_doesnotexist", None, auth), 404,
             "TASK_NOT_FOUND")
    vp_error("vibepeak script too short (239 chars, 6 images)",
             api("vibepeak", "POST", path, body(script_len=239), auth), 400, "SCRIPT_TOO_SHORT")
    vp_error("vibepeak script too long (301 chars, 6 images)",
             api("vibepeak", "POST", path, body(script_len=301), auth), 400, "SCRIPT_TOO_LONG")
    bad = [
        ("5 images", body(5, script_len=270), "images"),
        ("16 images", body(16, script_len=700), "images"),
        ("duplicate images", dict(body(), images=vp_images(5, "d") + vp_images(1, "d")), "images"),
        ("ftp image URL", dict(body(), images=vp_images(5, "f") + ["ftp://images.example.com/x.jpg"]), "images"),
        ("missing voice", {k: v for k, v in body().items() if k != "voice"}, "voice"),
        ("missing script", {k: v for k, v in body().items() if k != "script"}, "script"),
        ("digits in script", dict(body(), script="Room 42 " + vp_script(262)), "script"),
        ("special symbols in script", dict(body(), script="Price $ and big % off @ home # " + vp_script(240)), "script"),
        ("orientation not landscape|portrait", body(orientation="diagonal"), "orientation"),
        ("orchestration_mode unknown", body(orchestration_mode="chaotic"), "orchestration_mode"),
        ("avatar_id not a UUID", body(avatar_id="not-a-uuid"), "avatar_id"),
        ("webhook_url not a URL", body(webhook_url="not a url"), "webhook_url"),
    ]
    for label, b, field in bad:
        vp_error(f"vibepeak 400 for {label}", api("vibepeak", "POST", path, b, auth), 400, "VALIDATION_ERROR", field)

    # --- submits -----------------------------------------------------------------------------
    tasks = RESULTS["vibepeak"] = []
    specs = [
        ("A(success)", body(6, "a", webhook_url=f"{hook}/A"), "completed"),
        ("B(image_processing_failed)", body(6, "b", webhook_url=f"{hook}/B", test_scenario="image_processing_failed"),
         "failed"),
        ("C(all optional fields, 7 images)", body(
            7, "c", webhook_url=f"{hook}/C", test_scenario="success", orientation="landscape",
            orchestration_mode="sequential", background_music=True, avatar_id="3f1c2b7a-9d4e-4c8b-a6f1-2e5d7c9b0a13",
            subtitle={"subtitle_style_preset": "classic"},
            elements_config={"enabled": True,
                             "watermark": {"url": "https://images.example.com/brand/logo.png",
                                           "position": "bottom-right", "size": "small", "opacity": 0.5},
                             "text": {"content": "Open house Sunday", "color": "#FFFFFF", "font": "Inter",
                                      "size": 24, "position": "top"}}), "completed"),
    ]
    for tag, b, want in specs:
        r = api("vibepeak", "POST", path, b, auth)
        p = f"vibepeak submit {tag}"
        if not C.eq(f"{p}: 202 Accepted", r.status, 202):
            info(f"{p}: {r}")
            continue
        j = r.json if isinstance(r.json, dict) else {}
        tid = j.get("task_id")
        C.ok(f"{p}: task_id starts with task_", isinstance(tid, str) and tid.startswith("task_"), "task_…", tid)
        C.eq(f"{p}: Location header", r.h("location"), f"/v1/tasks/{tid}")
        ra = r.h("retry-after")
        C.ok(f"{p}: Retry-After integer seconds", ra is not None and ra.isdigit() and int(ra) > 0, "e.g. 30", ra)
        C.eq(f"{p}: status", j.get("status"), "queued")
        C.ok(f"{p}: queue_position integer >= 0", is_int(j.get("queue_position")) and j["queue_position"] >= 0,
             "int >= 0", j.get("queue_position"))
        ca, ec = parse_iso(j.get("created_at")), parse_iso(j.get("estimated_completion"))
        C.ok(f"{p}: created_at ISO 8601", ca is not None, "ISO 8601", j.get("created_at"))
        check_time_near_sim(f"{p}: created_at", ca)
        C.ok(f"{p}: estimated_completion ISO 8601, 4-10 min (±10 %) after created_at",
             ec is not None and ca is not None and 0.9 * 240 <= ec - ca <= 1.1 * 600 * (1 + j.get("queue_position", 0)),
             "created_at + 216..660 s", j.get("estimated_completion"))
        C.ok(f"{p}: livemode false", j.get("livemode") is False, False, j.get("livemode"))
        date = r.h("date")
        if date:
            from email.utils import parsedate_to_datetime
            try:
                dts = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                dts = None
            check_time_near_sim(f"{p}: Date header", dts)
        tasks.append({"tag": tag, "id": tid, "created_at": j.get("created_at"), "want": want, "body": b,
                      "ec": j.get("estimated_completion"), "qp": j.get("queue_position"),
                      "ra": int(ra) if ra and ra.isdigit() else 30, "seen": [], "last": None, "hook": b["webhook_url"]})

    # --- concurrency limit (Pro: 3 in flight) -------------------------------------------------
    r = api("vibepeak", "POST", path, body(6, "d"), auth)
    err = vp_error("vibepeak 4th submit with 3 in flight (plan Pro)", r, 429, "CONCURRENCY_LIMIT_EXCEEDED")
    if err:
        d = err.get("details") or {}
        C.ok("vibepeak 429 details {limit: 3, in_flight: 3, plan: pro}",
             d.get("limit") == 3 and d.get("in_flight") == 3 and str(d.get("plan", "")).lower() == "pro",
             "{limit: 3, in_flight: 3, plan: pro}", d)
        C.eq("vibepeak 429 Retry-After", r.h("retry-after"), "30")
    if r.status == 202 and isinstance(r.json, dict):
        info(f"unexpected extra vibepeak task {r.json.get('task_id')}")

    # --- poll ---------------------------------------------------------------------------------
    def poll(group):
        end = time.monotonic() + POLL_TIMEOUT
        pending = [t for t in group if t["id"]]
        while pending and time.monotonic() < end and not past_deadline():
            for t in list(pending):
                r = api("vibepeak", "GET", f"/v1/tasks/{t['id']}", None, auth)
                j = vp_check_answer(t["tag"], t, r, t["seen"])
                t["last"] = j
                ra = r.h("retry-after")
                if ra and ra.isdigit():
                    t["ra"] = int(ra)
                if j.get("status") in ("completed", "failed"):
                    pending.remove(t)
            if pending:
                sim_sleep(min(t["ra"] for t in pending))
        C.ok("vibepeak every task reached a terminal status in time", not pending, "all terminal",
             [t["tag"] for t in pending])

    poll(tasks)

    for t in tasks:
        j = t["last"] or {}
        seen = [s for i, s in enumerate(t["seen"]) if i == 0 or t["seen"][i - 1] != s]
        info(f"vibepeak {t['tag']} statuses seen: {' -> '.join(map(str, seen))}")
        if t["want"] == "completed" and j.get("status") == "failed" and isinstance(j.get("error"), dict):
            # the sim's configurable failure rate may fail any task: checked as a failure, not a defect
            info(f"vibepeak {t['tag']} failed at random ({j['error'].get('code')}): failure rate, not a defect")
            C.ok(f"vibepeak {t['tag']} random failure code documented", j["error"].get("code") in (
                "IMAGE_PROCESSING_FAILED", "NARRATION_FAILED", "INTERNAL_ERROR"), "documented code", j["error"])
            t["want"] = "failed-random"
        else:
            C.eq(f"vibepeak {t['tag']} terminal status", j.get("status"), t["want"])
        ca, ec = parse_iso(j.get("completed_at")), parse_iso(t.get("ec"))
        if j.get("status") == "completed" and ca is not None and ec is not None:
            C.ok(f"vibepeak {t['tag']} estimated_completion off by at most ±10 % of the duration",
                 abs(ca - ec) <= 0.1 * (ca - parse_iso(t["created_at"])) + 5,
                 f"completed_at within 10 % of {t['ec']}", j.get("completed_at"))
        order = {"queued": 0, "processing": 1, "completed": 2, "failed": 2}
        C.ok(f"vibepeak {t['tag']} statuses only move forward",
             all(order.get(a, 9) <= order.get(b, 9) for a, b in zip(seen, seen[1:])), "queued→processing→terminal",
             seen)
        if t["want"] == "completed":
            C.ok(f"vibepeak {t['tag']} passed through processing", "processing" in seen, "processing seen", seen)
        if t["want"] == "failed" and isinstance(j.get("error"), dict) and t["tag"].startswith("B"):
            C.eq(f"vibepeak {t['tag']} error.code", j["error"].get("code"), "IMAGE_PROCESSING_FAILED")
            C.ok(f"vibepeak {t['tag']} error.message 'Failed to process image at index …'",
                 str(j["error"].get("message", "")).startswith("Failed to process image at index"),
                 "Failed to process image at index N: …", j["error"].get("message"))

    C.ok("vibepeak at least one task completed", any((t["last"] or {}).get("status") == "completed" for t in tasks),
         "a completed task", [(t["tag"], (t["last"] or {}).get("status")) for t in tasks])

    # --- downloads and re-read ----------------------------------------------------------------
    for t in tasks:
        j = t["last"] or {}
        res = j.get("result") if isinstance(j.get("result"), dict) else None
        if j.get("status") != "completed" or not res:
            continue
        download("vibepeak", f"vibepeak {t['tag']} result.video_url", res.get("video_url"), "video/")
        download("vibepeak", f"vibepeak {t['tag']} result.cover_image_url", res.get("cover_image_url"), "image/")
        sim_sleep(120)
        r = api("vibepeak", "GET", f"/v1/tasks/{t['id']}", None, auth)
        j2 = vp_check_answer(t["tag"], t, r, [])
        res2 = j2.get("result") if isinstance(j2.get("result"), dict) else {}
        C.eq(f"vibepeak {t['tag']} re-read: still completed", j2.get("status"), "completed")
        e1, e2 = parse_iso(res.get("expires_at")), parse_iso(res2.get("expires_at"))
        C.ok(f"vibepeak {t['tag']} re-read returns a fresh URL (expires_at renewed: later than before)",
             e1 is not None and e2 is not None and e2 > e1, f"> {res.get('expires_at')}", res2.get("expires_at"))
        download("vibepeak", f"vibepeak {t['tag']} re-read result.video_url", res2.get("video_url"), "video/")
        t["last"] = j2

    # --- webhooks -----------------------------------------------------------------------------
    for t in tasks:
        final = (t["last"] or {}).get("status")
        want_event = "task.completed" if final == "completed" else "task.failed"
        path_ = t["hook"][len(RECV):]
        got = DELIVERIES.wait_for(lambda d, p=path_: d["path"] == p)
        p = f"vibepeak webhook {t['tag']}"
        if not C.ok(f"{p}: delivered", len(got) >= 1, ">= 1 delivery", len(got)):
            continue
        for d in got:
            h = d["headers"]
            C.ok(f"{p}: X-VibePeak-Signature verifies (HMAC-SHA256 hex of '{{timestamp}}.{{body}}', key secret)",
                 vibepeak_verify(secret, h, d["body"]), "valid signature", h.get("x-vibepeak-signature"))
            ts = h.get("x-vibepeak-timestamp", "")
            C.ok(f"{p}: X-VibePeak-Timestamp unix seconds in sim time, within the 5 min replay window",
                 ts.isdigit() and abs(int(ts) - d["sim_now"]) <= 300, f"≈ {d['sim_now']:.0f}", ts)
            C.eq(f"{p}: X-VibePeak-Event", h.get("x-vibepeak-event"), want_event)
            b = body_json(d) or {}
            C.eq(f"{p}: body.event", b.get("event"), want_event)
            C.eq(f"{p}: body.task_id", b.get("task_id"), t["id"])
            C.eq(f"{p}: body.status", b.get("status"), final)
            C.eq(f"{p}: body.completed_at equals the task's", b.get("completed_at"), (t["last"] or {}).get("completed_at"))
            C.eq(f"{p}: body.created_at", b.get("created_at"), t["created_at"])
            C.ok(f"{p}: body.completed_at ISO 8601", parse_iso(b.get("completed_at")) is not None, "ISO 8601",
                 b.get("completed_at"))
            C.ok(f"{p}: body.livemode false", b.get("livemode") is False, False, b.get("livemode"))
            if final == "completed":
                res = b.get("result")
                if C.ok(f"{p}: body.result with video_url, cover_image_url, duration_seconds, resolution, expires_at",
                        isinstance(res, dict) and all(k in res for k in (
                            "video_url", "cover_image_url", "duration_seconds", "resolution", "expires_at")),
                        "full result", res):
                    download("vibepeak", f"{p}: body.result.video_url", res["video_url"], "video/")
            else:
                e = b.get("error")
                C.ok(f"{p}: body.error {{code, message}}", isinstance(e, dict) and "code" in e and "message" in e,
                     "{code, message}", e)

    # --- the documented windows' edges are accepted: 6 images with 240 and 300 characters, 15 images
    edge = []
    for tag, b in (("E(6 images, 240 chars)", body(6, "e", script_len=240)),
                   ("F(6 images, 300 chars)", body(6, "f", script_len=300)),
                   ("G(15 images, 600 chars, portrait, standard)", body(15, "g", script_len=600, orientation="portrait",
                                                                       orchestration_mode="standard"))):
        r = api("vibepeak", "POST", path, b, auth)
        if C.eq(f"vibepeak submit {tag}: 202", r.status, 202) and isinstance(r.json, dict):
            t = {"tag": tag, "id": r.json.get("task_id"), "created_at": r.json.get("created_at"), "want": "completed",
                 "body": b, "ra": 30, "seen": [], "last": None, "hook": None}
            tasks.append(t)
            edge.append(t)
        else:
            info(f"vibepeak submit {tag}: {r}")
    poll(edge)
    return tasks


# ============================================================================================
# VideoGen
# ============================================================================================
VG_TERMINAL = ("succeeded", "failed", "cancelled")
VG_DURATIONS = {  # [doc, official guidance], sim seconds; "a few minutes" read as 1-10 min, "seconds" as < 60 s
    "generate-image": (15, 60), "generate-video-clip": (60, 180), "generate-motion-graphic": (120, 300),
    "generate-avatar": (60, 600), "generate-music": (60, 600), "text-to-speech": (0, 60),
    "generate-sound-effect": (0, 60),
}
VG_LIMITS = {  # route label -> documented X-RateLimit-Limit
    "POST tools": 500, "GET execution": 5000, "cancel": 250, "hydrate": 2500, "GET endpoints": 500,
    "create endpoint": 10, "delete endpoint": 10, "list executions": 5000,
}


def vg_error(name, r, status, code=None, code_optional=False):
    C.eq(f"{name}: status", r.status, status)
    j = r.json if isinstance(r.json, dict) else None
    C.ok(f"{name}: body {{message, code?}}", j is not None and isinstance(j.get("message"), str), "{message, code?}", r)
    if j is not None and code:
        if code_optional:
            C.ok(f"{name}: code absent or one of {code}", j.get("code") is None or j.get("code") in code,
                 f"absent or {code}", j.get("code"))
        else:
            C.eq(f"{name}: code", j.get("code"), code)
    return j or {}


def vg_check_source(p, name, src, must_url):
    if not C.ok(f"{p} {name} is an object", isinstance(src, dict), "object", src):
        return
    C.ok(f"{p} {name}.status pending|ready|failed|skipped", src.get("status") in ("pending", "ready", "failed",
                                                                                    "skipped"),
         "pending|ready|failed|skipped", src.get("status"))
    for k in ("width", "height", "fileBytes"):
        if src.get(k) is not None:
            C.ok(f"{p} {name}.{k} integer", is_int(src[k]), "integer", src[k])
    if must_url:
        C.eq(f"{p} {name}.status", src.get("status"), "ready")
        C.ok(f"{p} {name}.url present", isinstance(src.get("url"), str), "URL", src.get("url"))
        C.ok(f"{p} {name}.expiresAt unix seconds ≈ 1 h ahead (sim time)",
             is_int(src.get("expiresAt")) and abs(src["expiresAt"] - (CLOCK.now() + 3600)) <= 600,
             f"≈ {CLOCK.now() + 3600:.0f}", src.get("expiresAt"))


def vg_check_file(p, f, want_type, signed):
    """A storage file {fileId, type, scope, displayName, durationSeconds?, thumbnailSource, previewSource,
    downloadSource}; `signed`: downloadSource must carry a fresh URL, else no source may carry a URL."""
    if not C.ok(f"{p} file object", isinstance(f, dict), "object", f):
        return
    C.ok(f"{p} file.fileId starts with vg_file_", str(f.get("fileId", "")).startswith("vg_file_"), "vg_file_…",
         f.get("fileId"))
    C.eq(f"{p} file.type", f.get("type"), want_type)
    C.ok(f"{p} file.scope present", isinstance(f.get("scope"), str), "string", f.get("scope"))
    C.ok(f"{p} file.displayName present", isinstance(f.get("displayName"), str), "string", f.get("displayName"))
    if f.get("durationSeconds") is not None:
        C.ok(f"{p} file.durationSeconds number", is_num(f["durationSeconds"]), "number", f["durationSeconds"])
    for s in ("thumbnailSource", "previewSource", "downloadSource"):
        C.ok(f"{p} file.{s} present", s in f, "present", sorted(f))
        if s in f and f[s] is not None:
            vg_check_source(p, f"file.{s}", f[s], signed and s == "downloadSource")
    if not signed:
        urls = [s for s in ("thumbnailSource", "previewSource", "downloadSource")
                if isinstance(f.get(s), dict) and f[s].get("url")]
        C.ok(f"{p} carries no signed URLs", not urls, "no url in any source", urls)


def vg_check_exec(ex, r):
    j = r.json if isinstance(r.json, dict) else {}
    st = j.get("status")
    p = f"videogen {ex['tool']} [{st}]"
    C.eq(f"{p} HTTP 200", r.status, 200)
    C.eq(f"{p} toolExecutionId", j.get("toolExecutionId"), ex["id"])
    C.eq(f"{p} toolType (UPPER_SNAKE)", j.get("toolType"), ex["tool"].upper().replace("-", "_"))
    C.ok(f"{p} status is documented", st in ("pending", "running") + VG_TERMINAL,
         "pending|running|succeeded|failed|cancelled", st)
    pp, ai = j.get("progressPercentage"), j.get("attemptIndex")
    C.ok(f"{p} progressPercentage number 0-100 (always present)", is_num(pp) and 0 <= pp <= 100, "0..100", pp)
    C.ok(f"{p} attemptIndex integer >= 0", is_int(ai) and ai >= 0, "int >= 0", ai)
    C.ok(f"{p} error key present", "error" in j, "error: null or object", sorted(j))
    forbidden = {"createdAt", "startedAt", "completedAt", "mimeType"} & set(walk_keys(j))
    C.ok(f"{p} no createdAt/startedAt/completedAt/mimeType anywhere", not forbidden, "none of them", forbidden)
    # per-attempt progress: attemptIndex never decreases; within one attempt progress never decreases
    if is_int(ai) and is_num(pp):
        if ex["attempt"] is not None:
            C.ok(f"videogen {ex['tool']} attemptIndex never decreases", ai >= ex["attempt"], f">= {ex['attempt']}", ai)
            if ai == ex["attempt"]:
                C.ok(f"videogen {ex['tool']} progress never goes back within one attempt", pp >= ex["progress"],
                     f">= {ex['progress']}", pp)
            else:
                ex["retries"] += 1
        ex["attempt"], ex["progress"] = ai, pp
    if ex["status"] in VG_TERMINAL:
        C.eq(f"videogen {ex['tool']} terminal status never changes", st, ex["status"])
    if st == "succeeded":
        C.eq(f"{p} progressPercentage 100", pp, 100)
        res = j.get("results")
        if C.ok(f"{p} results list of numResults ({ex['n']})", isinstance(res, list) and len(res) == ex["n"],
                f"{ex['n']} results", res):
            for i, item in enumerate(res):
                q = f"{p} results[{i}]"
                C.ok(f"{q}.fileId vg_file_…", str(item.get("fileId", "")).startswith("vg_file_"), "vg_file_…",
                     item.get("fileId"))
                C.eq(f"{q}.type", item.get("type"), ex["type"])
                f = item.get("file")
                if isinstance(f, dict):
                    C.eq(f"{q}.file.fileId equals results.fileId", f.get("fileId"), item.get("fileId"))
                if ex["status"] not in VG_TERMINAL:  # the first succeeded answer: URLs fresh
                    vg_check_file(q, f, ex["type"], True)
        C.ok(f"{p} error null", j.get("error") is None, None, j.get("error"))
    else:
        C.ok(f"{p} no results unless succeeded", not j.get("results"), "absent/null", j.get("results"))
        if st == "failed":
            e = j.get("error")
            C.ok(f"{p} error {{message, code?}}", isinstance(e, dict) and isinstance(e.get("message"), str),
                 "{message, code?}", e)
        else:
            C.ok(f"{p} error null", j.get("error") is None, None, j.get("error"))
    ex["seen"].append(st)
    ex.setdefault("trace", []).append((st, pp, ai))
    if st in VG_TERMINAL and ex["status"] not in VG_TERMINAL:
        ex["final"] = j
    ex["status"] = st
    return j


def run_videogen(ready):
    info("VideoGen")
    key = ready["api_keys"]["videogen"]
    auth = {"Authorization": f"Bearer {key}"}

    # --- self-check of the Standard Webhooks verifier with the documented test vector ---------
    tv_body = b'{"email":"test@example.com","username":"test_user"}'
    tv = stdwh_sign("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553", tv_body)
    C.eq("videogen Standard Webhooks verifier reproduces the documented test vector", tv,
         "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
    C.ok("videogen verifier accepts the vector among several space-separated entries",
         stdwh_verify("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                      {"webhook-id": "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "webhook-timestamp": "1649367553",
                       "webhook-signature": "v2,AAAA v1,bm90LWl0 " + tv}, tv_body), True, False)

    # --- documented errors -------------------------------------------------------------------
    vg_error("videogen request without a key", api("videogen", "GET", "/v1/tools/executions", label="list executions"),
             401, ("missing_api_key",), True)
    vg_error("videogen request with an unknown key",
             api("videogen", "POST", "/v1/tools/generate-image", {"prompt": "x"}, {"Authorization": "Bearer vg_nope"},
                 label="POST tools"), 401, ("invalid_api_key",), True)
    j = vg_error("videogen generate-image {prompt: ''}",
                 api("videogen", "POST", "/v1/tools/generate-image", {"prompt": ""}, auth, "POST tools"), 400,
                 "invalid_parameters")
    C.ok("videogen generate-image {prompt: ''}: message names prompt", "prompt" in str(j.get("message", "")),
         "'prompt is required'", j.get("message"))
    for label, tool, b in [
        ("aspectRatio as a string (documented as {width, height})", "generate-image",
         {"prompt": "a house", "aspectRatio": "16:9"}),
        ("numResults 0", "generate-image", {"prompt": "a house", "numResults": 0}),
        ("numResults 101", "generate-image", {"prompt": "a house", "numResults": 101}),
        ("quality not LOW|STANDARD|HIGH|MAX", "generate-image", {"prompt": "a house", "quality": "ULTRA"}),
        ("imageFileIds more than 4", "generate-image",
         {"prompt": "a house", "imageFileIds": [f"vg_file_{i}" for i in range(5)]}),
        ("watermarkMode unknown", "generate-image", {"prompt": "a house", "watermarkMode": "SOMETIMES"}),
        ("text-to-speech without ttsText", "text-to-speech", {"voiceId": None}),
        ("generate-video-clip with none of prompt/imageFileIds/videoFileId", "generate-video-clip",
         {"durationSeconds": 5}),
    ]:
        vg_error(f"videogen 400 for {label}", api("videogen", "POST", f"/v1/tools/{tool}", b, auth, "POST tools"), 400,
                 "invalid_parameters")
    vg_error("videogen unknown tool", api("videogen", "POST", "/v1/tools/make-coffee", {"prompt": "x"}, auth,
                                          "POST tools"), 404)
    vg_error("videogen GET execution with a malformed id",
             api("videogen", "GET", "/v1/tools/executions/not-an-id", None, auth, "GET execution"), 400, "invalid_id")
    vg_error("videogen GET execution with a wrongly prefixed id (vg_file_…)",
             api("videogen", "GET", "/v1/tools/executions/vg_file_0123456789", None, auth, "GET execution"), 400,
             "invalid_id")
    vg_error("videogen GET unknown (well-formed) execution",
             api("videogen", "GET", "/v1/tools/executions/vg_exec_doesnotexist0000", None, auth, "GET execution"), 404)
    vg_error("videogen hydrate with a malformed id",
             api("videogen", "POST", "/v1/files/garbage/hydrate", None, auth, "hydrate"), 400, "invalid_id")
    r = api("videogen", "GET", "/v1/files/vg_file_doesnotexist0000", None, auth, "GET file")
    C.eq("videogen GET unknown file: 404", r.status, 404)
    r = api("videogen", "POST", "/v1/tools/executions/vg_exec_doesnotexist0000/cancel", None, auth, "cancel")
    C.eq("videogen cancel unknown execution: 404", r.status, 404)
    for lim in ("1", "200"):
        r = api("videogen", "GET", f"/v1/tools/executions?limit={lim}", None, auth, "list executions")
        C.eq(f"videogen list executions limit={lim} (inside 1-200): 200", r.status, 200)
    for lim in ("0", "201"):
        vg_error(f"videogen list executions limit={lim}",
                 api("videogen", "GET", f"/v1/tools/executions?limit={lim}", None, auth, "list executions"), 400,
                 "invalid_parameters")

    # --- webhook endpoints -------------------------------------------------------------------
    secret = None
    ep_body = {"url": f"{RECV}/videogen", "events": ["tool_execution.succeeded", "tool_execution.failed",
                                                     "tool_execution.cancelled"], "description": "conformance"}
    r = api("videogen", "POST", "/v1/webhooks/endpoints", ep_body, auth, "create endpoint")
    C.eq("videogen create webhook endpoint: 201", r.status, 201)
    ep = r.json if isinstance(r.json, dict) else {}
    C.ok("videogen endpoint: endpointId", isinstance(ep.get("endpointId"), str), "string", ep.get("endpointId"))
    C.eq("videogen endpoint: url", ep.get("url"), ep_body["url"])
    C.eq("videogen endpoint: events", ep.get("events"), ep_body["events"])
    C.eq("videogen endpoint: description", ep.get("description"), "conformance")
    C.ok("videogen endpoint: createdAt unix seconds (sim time)",
         is_int(ep.get("createdAt")) and abs(ep["createdAt"] - CLOCK.now()) <= 600, f"≈ {CLOCK.now():.0f}",
         ep.get("createdAt"))
    C.ok("videogen endpoint: signingSecret whsec_<base64>", isinstance(ep.get("signingSecret"), str)
         and ep["signingSecret"].startswith("whsec_"), "whsec_…", ep.get("signingSecret"))
    if isinstance(ep.get("signingSecret"), str):
        secret = ep["signingSecret"]
        try:
            base64.b64decode(secret[len("whsec_"):], validate=True)
            ok = True
        except ValueError:
            ok = False
        C.ok("videogen endpoint: signingSecret key part is base64", ok, "base64", secret)
        C.eq("videogen endpoint: signingSecretLast4", ep.get("signingSecretLast4"), secret[-4:])
    r2 = api("videogen", "POST", "/v1/webhooks/endpoints",
             {"url": f"{RECV}/videogen-extra", "events": ["tool_execution.succeeded"]}, auth, "create endpoint")
    C.eq("videogen create a second endpoint: 201", r2.status, 201)
    extra = (r2.json or {}).get("endpointId") if isinstance(r2.json, dict) else None
    r = api("videogen", "GET", "/v1/webhooks/endpoints", None, auth, "GET endpoints")
    lj = r.json if isinstance(r.json, dict) else {}
    C.ok("videogen list endpoints: {endpoints, hasMore, nextCursor}",
         r.status == 200 and isinstance(lj.get("endpoints"), list) and "hasMore" in lj and "nextCursor" in lj,
         "{endpoints, hasMore, nextCursor}", r)
    eps = lj.get("endpoints") or []
    C.ok("videogen list endpoints: both endpoints listed",
         {ep.get("endpointId"), extra} <= {e.get("endpointId") for e in eps if isinstance(e, dict)}, "both", eps)
    C.ok("videogen list endpoints: no signing secrets", all("signingSecret" not in e for e in eps if isinstance(e, dict)),
         "no signingSecret", eps)
    r = api("videogen", "GET", "/v1/webhooks/endpoints?limit=1", None, auth, "GET endpoints")
    lj = r.json if isinstance(r.json, dict) else {}
    C.ok("videogen list endpoints limit=1: one endpoint, hasMore true, a nextCursor",
         len(lj.get("endpoints") or []) == 1 and lj.get("hasMore") is True and isinstance(lj.get("nextCursor"), str),
         "1 endpoint, hasMore, cursor", r)
    if isinstance(lj.get("nextCursor"), str):
        from urllib.parse import quote
        first = [e.get("endpointId") for e in lj.get("endpoints") or []]
        r = api("videogen", "GET", f"/v1/webhooks/endpoints?limit=1&cursor={quote(lj['nextCursor'])}", None, auth,
                "GET endpoints")
        lj2 = r.json if isinstance(r.json, dict) else {}
        second = [e.get("endpointId") for e in lj2.get("endpoints") or []]
        C.ok("videogen list endpoints: the cursor gives the next page (the other endpoint)",
             r.status == 200 and len(second) == 1 and second != first
             and set(first + second) == {ep.get("endpointId"), extra}, "the other endpoint", r)
        r = api("videogen", "GET", f"/v1/tools/executions?cursor={quote(lj['nextCursor'])}", None, auth,
                "list executions")
        C.eq("videogen list executions with a cursor from another endpoint: 400", r.status, 400)
    if extra:
        r = api("videogen", "DELETE", f"/v1/webhooks/endpoints/{extra}", None, auth, "delete endpoint")
        C.eq("videogen delete endpoint: 204", r.status, 204)
        r = api("videogen", "GET", "/v1/webhooks/endpoints", None, auth, "GET endpoints")
        eps = (r.json or {}).get("endpoints", []) if isinstance(r.json, dict) else []
        C.ok("videogen deleted endpoint no longer listed", extra not in {e.get("endpointId") for e in eps}, "absent",
             eps)

    # --- executions ----------------------------------------------------------------------------
    execs = RESULTS["videogen"] = []

    def submit(tool, b, typ, n=1):
        r = api("videogen", "POST", f"/v1/tools/{tool}", b, auth, "POST tools")
        p = f"videogen submit {tool}"
        C.eq(f"{p}: 202", r.status, 202)
        eid = (r.json or {}).get("toolExecutionId") if isinstance(r.json, dict) else None
        C.ok(f"{p}: {{toolExecutionId}} (vg_exec_…/vg_tool_…)", isinstance(eid, str) and
             (eid.startswith("vg_exec_") or eid.startswith("vg_tool_")), "vg_exec_…", r)
        if not isinstance(eid, str):
            info(f"{p}: {r}")
            return None
        ex = {"tool": tool, "id": eid, "body": b, "type": typ, "n": n, "status": None, "seen": [], "attempt": None,
              "progress": 0, "retries": 0, "final": None, "order": len(execs), "t0": CLOCK.now()}
        execs.append(ex)
        return ex

    img = submit("generate-image", {"prompt": "a modern house at dusk", "aspectRatio": {"width": 16, "height": 9},
                                    "quality": "HIGH", "numResults": 2, "isOutputTemporary": False,
                                    "watermarkMode": "NONE"}, "IMAGE", 2)
    img2 = submit("generate-image", {"prompt": "a garden in spring", "aspectRatio": {"width": 4, "height": 3},
                                     "quality": "LOW"}, "IMAGE")
    tts = submit("text-to-speech", {"ttsText": "Welcome to your new home.", "voiceId": None,
                                    "speechLanguageCode": "en", "voiceSpeed": 1.25}, "AUDIO")
    clip = submit("generate-video-clip", {"prompt": "drone shot over a house", "durationSeconds": 5,
                                          "generateAudio": False, "aspectRatio": {"width": 9, "height": 16},
                                          "quality": "STANDARD"}, "VIDEO")
    submit("generate-music", {"prompt": "calm piano", "durationSeconds": 20}, "AUDIO")
    submit("generate-sound-effect", {"prompt": "door creak", "durationSeconds": 3}, "AUDIO")
    mg = submit("generate-motion-graphic", {"prompt": "logo reveal", "durationSeconds": 5,
                                            "aspectRatio": {"width": 1, "height": 1}, "transparentBackground": True},
                "VIDEO")
    if mg:
        r = api("videogen", "POST", f"/v1/tools/executions/{mg['id']}/cancel", None, auth, "cancel")
        C.eq("videogen cancel a running execution: 200", r.status, 200)
        C.eq("videogen cancel answer {toolExecutionId}", (r.json or {}).get("toolExecutionId")
             if isinstance(r.json, dict) else r, mg["id"])
        mg["want"] = "cancelled"

    followups = {"img": False, "tts": False, "clip": False}
    end = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < end and not past_deadline():
        live = [e for e in execs if e["status"] not in VG_TERMINAL]
        if not live:
            break
        for ex in live:
            r = api("videogen", "GET", f"/v1/tools/executions/{ex['id']}", None, auth, "GET execution")
            if r.status == 429:
                wait_retry_after(r)
                continue
            vg_check_exec(ex, r)
        src_img = next((x for x in (img, img2) if x and x["status"] == "succeeded"), None)
        if src_img and not followups["img"]:
            followups["img"] = True
            fid = src_img["final"]["results"][0]["fileId"] if src_img["final"] and src_img["final"].get("results") \
                else None
            if fid:
                submit("upscale-image", {"imageFileId": fid}, "IMAGE")
                submit("remove-image-background", {"imageStorageFileId": fid}, "IMAGE")
                submit("image-3d-effect", {"imageFileId": fid}, "VIDEO")
                submit("vectorize-image", {"imageFileId": fid}, "IMAGE")
        if tts and tts["status"] == "succeeded" and not followups["tts"]:
            followups["tts"] = True
            fid = tts["final"]["results"][0]["fileId"] if tts["final"] and tts["final"].get("results") else None
            if fid:
                submit("generate-avatar", {"actorEntityId": "actor_default", "audioFileId": fid}, "VIDEO")
        if clip and clip["status"] == "succeeded" and not followups["clip"]:
            followups["clip"] = True
            fid = clip["final"]["results"][0]["fileId"] if clip["final"] and clip["final"].get("results") else None
            if fid:
                submit("upscale-video", {"videoStorageFileId": fid}, "VIDEO")
                submit("remove-video-background", {"videoFileId": fid}, "VIDEO")
        sim_sleep(1.5)
    C.ok("videogen every execution reached a terminal status in time",
         all(e["status"] in VG_TERMINAL for e in execs), "all terminal",
         [(e["tool"], e["status"]) for e in execs if e["status"] not in VG_TERMINAL])
    for ex in execs:
        seen = [s for i, s in enumerate(ex["seen"]) if i == 0 or ex["seen"][i - 1] != s]
        info(f"videogen {ex['tool']} statuses seen: {' -> '.join(map(str, seen))}"
             + (f" (internal retries: {ex['retries']})" if ex["retries"] else ""))
        if os.environ.get("SIM_CONFORMANCE_TRACE"):
            info(f"videogen {ex['tool']} trace (status, progress, attempt): {ex.get('trace')}")
        if ex.get("want", "succeeded") == "succeeded" and ex["status"] == "failed":
            info(f"videogen {ex['tool']} failed at random ({(ex['final'] or {}).get('error')}): failure rate")
        else:
            C.eq(f"videogen {ex['tool']} final status", ex["status"], ex.get("want", "succeeded"))
    for typ in ("IMAGE", "AUDIO", "VIDEO"):
        C.ok(f"videogen at least one {typ} execution succeeded",
             any(e["type"] == typ and e["status"] == "succeeded" for e in execs), "one", [
                 (e["tool"], e["status"]) for e in execs if e["type"] == typ])
    music = next((e for e in execs if e["tool"] == "generate-music" and e["status"] == "succeeded"), None)
    if music:
        d = ((music["final"]["results"] or [{}])[0].get("file") or {}).get("durationSeconds")
        if d is not None:
            C.ok("videogen generate-music output ~30 s whatever durationSeconds says (20 asked)",
                 is_num(d) and 25 <= d <= 35, "≈ 30", d)
    C.ok("videogen some execution was seen running (with progress)",
         any("running" in e["seen"] for e in execs), "running seen", [e["seen"] for e in execs])

    # --- terminal: re-read, cancel no-op ------------------------------------------------------
    done = [e for e in execs if e["status"] == "succeeded"]
    if mg and mg["status"] == "cancelled":
        r = api("videogen", "POST", f"/v1/tools/executions/{mg['id']}/cancel", None, auth, "cancel")
        C.eq("videogen cancel a cancelled execution: 200", r.status, 200)
        r = api("videogen", "GET", f"/v1/tools/executions/{mg['id']}", None, auth, "GET execution")
        vg_check_exec(mg, r)
    if done:
        e = done[0]
        r = api("videogen", "POST", f"/v1/tools/executions/{e['id']}/cancel", None, auth, "cancel")
        C.eq("videogen cancel a succeeded execution: 200", r.status, 200)
        r = api("videogen", "GET", f"/v1/tools/executions/{e['id']}", None, auth, "GET execution")
        vg_check_exec(e, r)
        j = r.json if isinstance(r.json, dict) else {}
        a = [x["file"]["downloadSource"].get("url") for x in (e["final"] or {}).get("results") or []]
        b = [x["file"]["downloadSource"].get("url") for x in j.get("results") or []]
        C.eq("videogen re-read of a succeeded execution returns the URLs from completion time", b, a)

    # --- downloads, file read, hydrate ----------------------------------------------------------
    ctype = {"IMAGE": "image/", "VIDEO": "video/", "AUDIO": "audio/"}
    for ex in done:
        for i, res in enumerate((ex["final"] or {}).get("results") or []):
            f = res.get("file") or {}
            nm = f"videogen {ex['tool']} results[{i}]"
            for s in ("downloadSource", "previewSource", "thumbnailSource"):
                src = f.get(s) or {}
                if src.get("status") == "ready" and src.get("url"):
                    want = ctype.get(ex["type"], "") if s == "downloadSource" else (
                        "image/" if s == "thumbnailSource" else "")
                    download("videogen", f"{nm}.file.{s}.url", src["url"], want, src.get("fileBytes"))
            fid = res.get("fileId")
            r = api("videogen", "GET", f"/v1/files/{fid}", None, auth, "GET file")
            C.eq(f"videogen GET /v1/files/{{id}} ({ex['tool']}): 200", r.status, 200)
            vg_check_file(f"videogen GET file {ex['tool']}", r.json, ex["type"], False)
            r = api("videogen", "POST", f"/v1/files/{fid}/hydrate", None, auth, "hydrate")
            C.eq(f"videogen hydrate ({ex['tool']}): 200", r.status, 200)
            vg_check_file(f"videogen hydrate {ex['tool']}", r.json, ex["type"], True)
            if isinstance(r.json, dict) and isinstance(r.json.get("downloadSource"), dict):
                download("videogen", f"{nm} hydrated downloadSource.url", r.json["downloadSource"].get("url"),
                         ctype.get(ex["type"], ""))

    # --- list -------------------------------------------------------------------------------------
    ours = [e["id"] for e in execs]
    for q, label in (("", "list"), ("&selfOnly=true", "list selfOnly=true")):
        seen_ids, cursor, pages, shape_ok, errs = [], None, 0, True, []
        while pages < 30:
            path = f"/v1/tools/executions?limit=3{q}" + (f"&cursor={urllib.request.quote(cursor)}" if cursor else "")
            r = api("videogen", "GET", path, None, auth, "list executions")
            pages += 1
            j = r.json if isinstance(r.json, dict) else {}
            if not (r.status == 200 and isinstance(j.get("toolExecutions"), list) and isinstance(j.get("hasMore"), bool)
                    and "nextCursor" in j):
                shape_ok = False
                errs.append(r)
                break
            if len(j["toolExecutions"]) > 3:
                errs.append(f"page of {len(j['toolExecutions'])} > limit 3")
            for item in j["toolExecutions"]:
                seen_ids.append(item.get("toolExecutionId"))
                if not all(k in item for k in ("toolExecutionId", "toolType", "status", "progressPercentage",
                                               "attemptIndex")):
                    errs.append(f"item without execution fields: {sorted(item)}")
            if not j["hasMore"]:
                if j["nextCursor"] is not None:
                    errs.append(f"nextCursor {j['nextCursor']!r} with hasMore false")
                break
            if not isinstance(j["nextCursor"], str):
                errs.append("hasMore true without a nextCursor")
                break
            cursor = j["nextCursor"]
        C.ok(f"videogen {label}: every page {{toolExecutions, hasMore, nextCursor}}, limit respected", shape_ok
             and not errs, "well-formed pages", errs)
        C.ok(f"videogen {label}: paging with limit=3 used several pages", pages > 1, "> 1 page", pages)
        C.ok(f"videogen {label}: every execution of ours listed exactly once",
             all(seen_ids.count(i) == 1 for i in ours), "each once", [i for i in ours if seen_ids.count(i) != 1])
        pos = [seen_ids.index(i) for i in ours if i in seen_ids]
        C.ok(f"videogen {label}: most recently created first", pos == sorted(pos, reverse=True),
             "reverse creation order", pos)
    r = api("videogen", "GET", "/v1/tools/executions", None, auth, "list executions")
    j = r.json if isinstance(r.json, dict) else {}
    C.ok("videogen list without limit: default 50 covers all of ours",
         r.status == 200 and set(ours) <= {x.get("toolExecutionId") for x in j.get("toolExecutions") or []},
         "all listed", r)

    # --- webhooks -----------------------------------------------------------------------------------
    ids_seen = {}
    for ex in execs:
        want_event = f"tool_execution.{ex['status']}"
        got = DELIVERIES.wait_for(lambda d, i=ex["id"]: d["path"] == "/videogen" and (body_json(d) or {}).get(
            "toolExecutionId") == i)
        p = f"videogen webhook {ex['tool']}"
        if not C.ok(f"{p}: delivered", len(got) >= 1, ">= 1 delivery", len(got)):
            continue
        for d in got:
            h = d["headers"]
            C.ok(f"{p}: Standard Webhooks signature verifies with the endpoint's signingSecret",
                 secret is not None and stdwh_verify(secret, h, d["body"]), "valid v1 signature",
                 {k: h.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
            ts = h.get("webhook-timestamp", "")
            C.ok(f"{p}: webhook-timestamp within ±300 s of sim now", ts.isdigit() and abs(int(ts) - d["sim_now"]) <= 300,
                 f"≈ {d['sim_now']:.0f}", ts)
            ids_seen.setdefault(h.get("webhook-id"), set()).add(ex["id"])
            b = body_json(d) or {}
            C.eq(f"{p}: event", b.get("event"), want_event)
            C.eq(f"{p}: toolType", b.get("toolType"), ex["tool"].upper().replace("-", "_"))
            C.ok(f"{p}: occurredAt unix seconds (sim time, <= webhook-timestamp)", is_int(b.get("occurredAt"))
                 and ts.isdigit() and b["occurredAt"] <= int(ts) + 1 and abs(b["occurredAt"] - d["sim_now"]) <= 600,
                 "unix s", b.get("occurredAt"))
            C.ok(f"{p}: no status field (the event is the outcome)", "status" not in b, "no status", sorted(b))
            rng = VG_DURATIONS.get(ex["tool"])
            if rng and is_int(b.get("occurredAt")) and ex["status"] == "succeeded" and not ex["retries"]:
                took = b["occurredAt"] - ex["t0"]
                C.ok(f"{p}: duration in the documented range ({ex['tool']}: {rng[0]}-{rng[1]} s, sim time)",
                     rng[0] - 5 <= took <= rng[1] + 5, f"{rng[0]}..{rng[1]} s", f"{took:.0f} s")
            if ex["status"] == "succeeded":
                res = b.get("results")
                if C.ok(f"{p}: results with hydrated files", isinstance(res, list) and len(res) == ex["n"]
                        and all(isinstance((x.get("file") or {}).get("downloadSource"), dict)
                                and (x["file"]["downloadSource"]).get("url") for x in res),
                        f"{ex['n']} results with downloadSource.url", res):
                    download("videogen", f"{p} results[0].file.downloadSource.url",
                             res[0]["file"]["downloadSource"]["url"], ctype.get(ex["type"], ""))
            else:
                C.ok(f"{p}: no results", not b.get("results"), "absent", b.get("results"))
            if ex["status"] == "failed":
                C.ok(f"{p}: error", isinstance(b.get("error"), dict), "{message, code?}", b.get("error"))
    C.ok("videogen every webhook-id belongs to one execution", all(len(v) == 1 for v in ids_seen.values()),
         "unique ids", ids_seen)
    C.ok("videogen deleted endpoint received nothing", not DELIVERIES.matching(lambda d: d["path"] == "/videogen-extra"),
         "no deliveries", len(DELIVERIES.matching(lambda d: d["path"] == "/videogen-extra")))
    C.ok("videogen all thirteen documented tools accepted", {e["tool"] for e in execs} >= set(VG_DURATIONS) | {
        "vectorize-image", "remove-image-background", "remove-video-background", "upscale-image", "upscale-video",
        "image-3d-effect"}, "13 tools", sorted({e["tool"] for e in execs}))

    # --- per-endpoint hourly limit: create endpoint is 10/h -> the 11th in the hour gets 429 ------
    made, got429, allowed = [], None, None
    for _ in range(12):
        r = api("videogen", "POST", "/v1/webhooks/endpoints", {"url": f"{RECV}/videogen-limit",
                                                               "events": ["tool_execution.failed"]}, auth,
                "create endpoint")
        if r.status == 429:
            got429 = r
            break
        if allowed is None and (r.h("x-ratelimit-remaining") or "").isdigit():
            allowed = int(r.h("x-ratelimit-remaining")) + 1  # this create and the ones its Remaining announces
        if isinstance(r.json, dict) and r.json.get("endpointId"):
            made.append(r.json["endpointId"])
    if C.ok("videogen create endpoint beyond 10/h answers 429 exactly when X-RateLimit-Remaining ran out",
            got429 is not None and len(made) == allowed, f"429 after {allowed} creates",
            f"{len(made)} creates, then {got429.status if got429 else 'no 429'}"):
        C.ok("videogen 429 carries Retry-After (integer seconds)", (got429.h("retry-after") or "").isdigit(), "integer",
             got429.h("retry-after"))
        C.eq("videogen 429 X-RateLimit-Remaining", got429.h("x-ratelimit-remaining"), "0")
        C.ok("videogen 429 body {message, code?}", isinstance(got429.json, dict) and isinstance(
            got429.json.get("message"), str), "{message, code?}", got429)
    for eid in made:
        r = api("videogen", "DELETE", f"/v1/webhooks/endpoints/{eid}", None, auth, "delete endpoint")
        C.ok("videogen delete the extra endpoints: 204", r.status == 204, 204, r)
    return execs, auth


def check_date_headers():
    """The Date header of every answer is sim time (1 s resolution; 600 sim s = 1 real s of slack)."""
    from email.utils import parsedate_to_datetime
    for name in ("vibepeak", "videogen", "vidiking"):
        bad, n = [], 0
        for prov, date, now in DATES:
            if prov != name:
                continue
            n += 1
            try:
                ts = parsedate_to_datetime(date).timestamp() if date else None
            except (TypeError, ValueError):
                ts = None
            if ts is None or abs(ts - now) > 600:
                bad.append(f"{date!r} vs sim now {datetime.fromtimestamp(now, timezone.utc).isoformat()}")
        C.ok(f"{name} Date header of every answer is sim time ({n} answers)", n > 0 and not bad, "sim time",
             bad[:3])


def check_vg_ratelimit_headers():
    """X-RateLimit-* on every VideoGen answer of the run, per-endpoint limits as documented."""
    missing, wrong = [], []
    for label, r in VG_ANSWERS:
        vals = [r.h("x-ratelimit-limit"), r.h("x-ratelimit-remaining"), r.h("x-ratelimit-reset")]
        if r.status is None:
            continue
        if not all(v is not None and v.isdigit() for v in vals):
            missing.append(f"{label} -> {r.status}: {vals}")
            continue
        want = VG_LIMITS.get(label)
        if want is not None and r.status != 401 and int(vals[0]) != want:
            wrong.append(f"{label}: {vals[0]} (documented {want})")
        reset = int(vals[2])
        if not (CLOCK.now() - 4000 <= reset <= CLOCK.now() + 3700):
            wrong.append(f"{label}: reset {reset} not within the hour in sim time")
    last, bad = {}, []
    for label, r in VG_ANSWERS:
        if r.status is None or not 200 <= r.status < 300:
            continue
        rem, reset = r.h("x-ratelimit-remaining"), r.h("x-ratelimit-reset")
        if not (rem and rem.isdigit() and reset and reset.isdigit()):
            continue
        prev = last.get(label)
        if prev and prev[1] == int(reset) and int(rem) >= prev[0]:
            bad.append(f"{label}: remaining {prev[0]} then {rem}")
        last[label] = (int(rem), int(reset))
    C.ok("videogen X-RateLimit-Remaining decreases with every successful call of an endpoint (same window)",
         not bad, "strictly decreasing", bad[:5])
    C.ok(f"videogen X-RateLimit-Limit/Remaining/Reset on every answer ({len(VG_ANSWERS)} answers)", not missing,
         "all three headers, integers", missing[:5])
    C.ok("videogen X-RateLimit-Limit per endpoint as documented, Reset unix seconds in sim time", not wrong,
         "500/5000/250/2500/500/10/10/5000", sorted(set(wrong))[:8])



def videogen_expiry(execs, auth):
    """After expiresAt (1 sim hour = 6 real s), the old URL is refused; re-read keeps it; hydrate renews it."""
    ex = next((e for e in execs if e["status"] == "succeeded" and e["final"] and e["final"].get("results")), None)
    if not ex:
        return
    src = ex["final"]["results"][0]["file"]["downloadSource"]
    exp = src.get("expiresAt")
    if not is_int(exp):
        return
    wait = (exp + 30 - CLOCK.now()) / SPEED
    if wait > 10 or time.monotonic() - T_START + wait > WALL_BUDGET - 5:
        info(f"videogen expiry check skipped: would wait {wait:.1f} real s")
        return
    time.sleep(max(0.0, wait))
    DOWNLOADS.setdefault("videogen", {"attempts": 0, "ok": 0})["attempts"] += 1
    r = _raw("GET", src["url"])
    C.ok("videogen a result URL is refused after its expiresAt", r.status is not None and not 200 <= r.status < 300,
         "non-2xx", r.status)
    r = api("videogen", "GET", f"/v1/tools/executions/{ex['id']}", None, auth, "GET execution")
    j = r.json if isinstance(r.json, dict) else {}
    C.eq("videogen re-read after expiry returns the URL from completion time",
         (((j.get("results") or [{}])[0].get("file") or {}).get("downloadSource") or {}).get("url"), src["url"])
    r = api("videogen", "POST", f"/v1/files/{ex['final']['results'][0]['fileId']}/hydrate", None, auth, "hydrate")
    C.eq("videogen hydrate after expiry: 200", r.status, 200)
    if isinstance(r.json, dict):
        vg_check_file("videogen hydrate after expiry", r.json, ex["type"], True)
        download("videogen", "videogen hydrated URL after expiry", (r.json.get("downloadSource") or {}).get("url"),
                 {"IMAGE": "image/", "VIDEO": "video/", "AUDIO": "audio/"}.get(ex["type"], ""))


# ============================================================================================
# Vidiking
# ============================================================================================
VK_TERMINAL = ("COMPLETE", "FAILED")


def vk_error(name, r, status, code):
    C.eq(f"{name}: status", r.status, status)
    j = r.json if isinstance(r.json, dict) else {}
    e = j.get("error") if isinstance(j.get("error"), dict) else None
    C.ok(f"{name}: body {{error: {{code, message}}}}", e is not None and isinstance(e.get("message"), str),
         "{error: {code, message}}", r)
    if e is not None:
        C.eq(f"{name}: code", e.get("code"), code)


def vk_timeline(tag, bad=False):
    if bad:  # there is no `text` asset type: INVALID_TIMELINE, as a job failure
        return {"tracks": [{"clips": [{"asset": {"type": "text", "text": "Hello"}, "start": 0, "length": 3}]}]}
    return {
        "background": "#000000",
        "soundtrack": {"src": f"https://media.example.com/{tag}/music.mp3", "effect": "fadeOut", "volume": 0.5},
        "tracks": [
            {"clips": [{"asset": {"type": "title", "text": "Open House", "style": "minimal", "size": "large",
                                  "color": "#ffffff"},
                        "start": 0, "length": 4, "transition": {"in": "fade", "out": "slideLeft"},
                        "offset": {"x": 0, "y": -0.5}, "opacity": 0.5}]},
            {"clips": [{"asset": {"type": "html", "html": "<p>Sunday</p>", "css": "p { color: red; }"},
                        "start": 4, "length": 2, "transition": {"in": "wipeLeft"}}]},
            {"clips": [
                {"asset": {"type": "image", "src": f"https://media.example.com/{tag}/front.jpg"}, "start": 0,
                 "length": 5, "effect": "zoomIn", "fit": "cover", "scale": 1, "transition": {"out": "zoom"}},
                {"asset": {"type": "video", "src": f"https://media.example.com/{tag}/tour.mp4", "trim": 2,
                           "volume": 0.5},
                 "start": 5, "length": 5, "fit": "contain", "transition": {"in": "slideUp", "out": "fade"}}]},
            {"clips": [{"asset": {"type": "audio", "src": f"https://media.example.com/{tag}/voice.mp3", "trim": 1,
                                  "volume": 1, "effect": "fadeIn"}, "start": 0, "length": 10}]},
        ],
    }


def vk_check(job, r):
    j = r.json if isinstance(r.json, dict) else {}
    st = j.get("status")
    p = f"vidiking {job['tag']} [{st}]"
    C.eq(f"{p} HTTP 200", r.status, 200)
    C.eq(f"{p} id", j.get("id"), job["id"])
    C.ok(f"{p} status documented", st in ("QUEUED", "PROCESSING") + VK_TERMINAL, "QUEUED|PROCESSING|COMPLETE|FAILED", st)
    C.eq(f"{p} created_at unchanged", j.get("created_at"), job["created_at"])
    ca = parse_iso(j.get("created_at"))
    if "metadata" in job["body"] and st in ("QUEUED", "PROCESSING", "COMPLETE", "FAILED"):
        C.eq(f"{p} metadata echoed", j.get("metadata"), job["body"]["metadata"])
    if st == "PROCESSING":
        C.ok(f"{p} processing_started_at ISO 8601 >= created_at",
             parse_iso(j.get("processing_started_at")) is not None and parse_iso(j["processing_started_at"]) >= ca - 1,
             ">= created_at", j.get("processing_started_at"))
    if st == "COMPLETE":
        C.ok(f"{p} url", isinstance(j.get("url"), str), "URL", j.get("url"))
        C.ok(f"{p} duration float seconds > 0", is_num(j.get("duration")) and j["duration"] > 0, "float > 0",
             j.get("duration"))
        C.ok(f"{p} resolution WIDTHxHEIGHT", isinstance(j.get("resolution"), str)
             and re.match(r"^\d+x\d+$", j["resolution"]) is not None, "e.g. 1920x1080", j.get("resolution"))
        C.eq(f"{p} format as requested", j.get("format"), job["body"]["output"]["format"])
        C.ok(f"{p} file_size integer bytes > 0", is_int(j.get("file_size")) and j["file_size"] > 0, "int > 0",
             j.get("file_size"))
        C.ok(f"{p} credits_used number", is_num(j.get("credits_used")), "number", j.get("credits_used"))
        ps, co = parse_iso(j.get("processing_started_at")), parse_iso(j.get("completed_at"))
        C.ok(f"{p} processing_started_at ISO 8601 >= created_at", ps is not None and ps >= ca - 1, ">= created_at",
             j.get("processing_started_at"))
        C.ok(f"{p} completed_at ISO 8601 >= processing_started_at", co is not None and ps is not None and co >= ps - 1,
             ">= processing_started_at", j.get("completed_at"))
        C.ok(f"{p} render_time integer seconds", is_int(j.get("render_time")) and j["render_time"] >= 0,
             "int >= 0", j.get("render_time"))
        if is_int(j.get("render_time")) and ps is not None and co is not None:
            C.ok(f"{p} render_time ≈ completed_at - processing_started_at", abs(j["render_time"] - (co - ps)) <= 1.5,
                 f"{co - ps:.1f}", j["render_time"])
        if co is not None and ca is not None:
            C.ok(f"{p} render of a 10 s timeline took tens of seconds (sim time)", 10 <= co - ca <= 180,
                 "10..180 s", f"{co - ca:.1f} s")
        if is_num(j.get("duration")):
            C.ok(f"{p} duration is the timeline's length (10 s)", abs(j["duration"] - 10) <= 1, "≈ 10.0",
                 j["duration"])
    if st == "FAILED":
        e = j.get("error")
        C.ok(f"{p} error {{code, message}}", isinstance(e, dict) and isinstance(e.get("code"), str)
             and isinstance(e.get("message"), str), "{code, message}", e)
        C.eq(f"{p} credits_used 0", j.get("credits_used"), 0)
        C.ok(f"{p} failed_at ISO 8601 >= created_at", parse_iso(j.get("failed_at")) is not None
             and parse_iso(j["failed_at"]) >= ca - 1, ">= created_at", j.get("failed_at"))
        C.ok(f"{p} no url", "url" not in j or j["url"] is None, "no url", j.get("url"))
    job["seen"].append(st)
    job["last"] = j
    return j


def run_vidiking(ready):
    info("Vidiking")
    key = ready["api_keys"]["vidiking"]
    auth = {"Authorization": f"Bearer {key}"}
    sandbox = dict(auth, **{"x-sandbox": "true"})
    acct_secret = ready["webhook_secrets"]["vidiking"]
    my_secret = "whsec_conformance_secret_0001"

    vk_error("vidiking request without a key", api("vidiking", "GET", "/v1/render/job_doesnotexist"), 401,
             "UNAUTHORIZED")
    vk_error("vidiking GET unknown job", api("vidiking", "GET", "/v1/render/job_doesnotexist", None, auth), 404,
             "JOB_NOT_FOUND")
    vk_error("vidiking POST a body that is not JSON",
             api("vidiking", "POST", "/v1/render", b"{not json", dict(auth, **{"Content-Type": "application/json"})),
             400, "INVALID_REQUEST")
    vk_error("vidiking POST without a timeline object",
             api("vidiking", "POST", "/v1/render", {"output": {"format": "mp4", "resolution": "hd"}}, auth), 400,
             "INVALID_REQUEST")

    jobs = RESULTS["vidiking"] = []

    def submit(tag, body, headers):
        r = api("vidiking", "POST", "/v1/render", body, headers)
        p = f"vidiking submit {tag}"
        C.ok(f"{p}: 2xx (201 assumed)", r.status is not None and 200 <= r.status < 300, "2xx", r)
        C.eq(f"{p}: status code 201 [assumed]", r.status, 201)
        j = r.json if isinstance(r.json, dict) else {}
        C.ok(f"{p}: id job_…", str(j.get("id", "")).startswith("job_"), "job_…", j.get("id"))
        C.eq(f"{p}: status", j.get("status"), "QUEUED")
        ca = parse_iso(j.get("created_at"))
        C.ok(f"{p}: created_at ISO 8601", ca is not None, "ISO 8601", j.get("created_at"))
        check_time_near_sim(f"{p}: created_at", ca)
        if not j.get("id"):
            return None
        job = {"tag": tag, "id": j["id"], "created_at": j.get("created_at"), "body": body, "headers": headers,
               "seen": [], "last": None, "sandbox": "x-sandbox" in headers}
        jobs.append(job)
        return job

    def poll(group):
        end = time.monotonic() + POLL_TIMEOUT
        while time.monotonic() < end and not past_deadline():
            live = [j for j in group if (j["last"] or {}).get("status") not in VK_TERMINAL]
            if not live:
                return True
            for job in live:
                r = api("vidiking", "GET", f"/v1/render/{job['id']}", None, job["headers"])
                if r.status == 429:
                    C.ok("vidiking 429 while polling carries Retry-After", (r.h("retry-after") or "").isdigit(),
                         "Retry-After", r.h("retry-after"))
                    wait_retry_after(r, 6)
                    continue
                vk_check(job, r)
            # sandbox: 10 requests/min -> one poll per 7 sim s; production polls every 3 s as the docs do
            sim_sleep(7 if any(j["sandbox"] for j in live) else 3)
        return False

    # Phase 1: a production job with a per-job callback, before any PUT: signed with the readiness secret.
    body_a = {"timeline": vk_timeline("a"), "output": {"format": "mp4", "resolution": "1080", "aspectRatio": "16:9",
                                                        "fps": 25},
              "callback": f"{RECV}/vidiking/cb/A", "metadata": {"conformance": "A", "batch": "outsider"}}
    a = submit("A(production, callback)", body_a, auth)
    C.ok("vidiking A reached a terminal status in time", poll([a] if a else []), "terminal", a and a["seen"][-1:])

    r = api("vidiking", "PUT", "/v1/webhooks", {"url": f"{RECV}/vidiking/account",
                                                "events": ["render.queued", "render.processing", "render.complete",
                                                           "render.failed"], "secret": my_secret}, auth)
    C.eq("vidiking PUT /v1/webhooks: 200", r.status, 200)
    j = r.json if isinstance(r.json, dict) else {}
    C.eq("vidiking PUT /v1/webhooks answer: url", j.get("url"), f"{RECV}/vidiking/account")
    C.eq("vidiking PUT /v1/webhooks answer: events", j.get("events"),
         ["render.queued", "render.processing", "render.complete", "render.failed"])
    C.ok("vidiking PUT /v1/webhooks answer: secret omitted", "secret" not in j, "no secret", j)

    # Phase 2: a sandbox job and an INVALID_TIMELINE job, both signed with my secret from now on.
    body_b = {"timeline": vk_timeline("b"), "output": {"format": "mp4", "resolution": "1080"},
              "callback": f"{RECV}/vidiking/cb/B", "metadata": {"conformance": "B"}}
    b = submit("B(sandbox, 1080 asked)", body_b, sandbox)
    body_c = {"timeline": vk_timeline("c", bad=True), "output": {"format": "mp4", "resolution": "hd"},
              "callback": f"{RECV}/vidiking/cb/C", "metadata": {"conformance": "C"}}
    c = submit("C(INVALID_TIMELINE)", body_c, auth)
    body_d = {"timeline": vk_timeline("d"), "output": {"format": "mp4", "resolution": "hd"},
              "metadata": {"conformance": "D"}}
    dj = submit("D(production, hd, no callback)", body_d, auth)
    C.ok("vidiking B, C and D reached a terminal status in time", poll([x for x in (b, c, dj) if x]), "terminal",
         [x["seen"][-1:] for x in (b, c, dj) if x])
    for job, want in ((a, "COMPLETE"), (b, "COMPLETE"), (c, "FAILED"), (dj, "COMPLETE")):
        if not job:
            continue
        seen = [s for i, s in enumerate(job["seen"]) if i == 0 or job["seen"][i - 1] != s]
        info(f"vidiking {job['tag']} statuses seen: {' -> '.join(map(str, seen))}")
        last = job["last"] or {}
        if want == "COMPLETE" and last.get("status") == "FAILED" and isinstance(last.get("error"), dict):
            info(f"vidiking {job['tag']} failed at random ({last['error']}): failure rate, not a defect")
            C.ok(f"vidiking {job['tag']} random failure code documented", last["error"].get("code") in (
                "RENDER_TIMEOUT", "INTERNAL_ERROR", "INSUFFICIENT_CREDITS", "INVALID_ASSET"), "documented code",
                last["error"])
        else:
            C.eq(f"vidiking {job['tag']} terminal status", last.get("status"), want)
        order = {"QUEUED": 0, "PROCESSING": 1, "COMPLETE": 2, "FAILED": 2}
        C.ok(f"vidiking {job['tag']} statuses only move forward",
             all(order.get(x, 9) <= order.get(y, 9) for x, y in zip(seen, seen[1:])), "QUEUED→PROCESSING→terminal",
             seen)
    C.ok("vidiking at least one job COMPLETE", any((x["last"] or {}).get("status") == "COMPLETE" for x in jobs),
         "a COMPLETE job", [(x["tag"], (x["last"] or {}).get("status")) for x in jobs])
    if a and (a["last"] or {}).get("status") == "COMPLETE":
        C.eq("vidiking A (production, resolution 1080) resolution", a["last"].get("resolution"), "1920x1080")
    if dj and (dj["last"] or {}).get("status") == "COMPLETE":
        C.eq("vidiking D (production, resolution hd) resolution", dj["last"].get("resolution"), "1280x720")
    if b and (b["last"] or {}).get("status") == "COMPLETE":
        res = b["last"].get("resolution") or ""
        C.ok("vidiking B (sandbox) capped at 720p whatever resolution says",
             re.match(r"^\d+x(\d+)$", res) is not None and int(res.split("x")[1]) <= 720, "height <= 720", res)
    if c and isinstance((c["last"] or {}).get("error"), dict):
        C.eq("vidiking C error.code", c["last"]["error"].get("code"), "INVALID_TIMELINE")
        fa = parse_iso(c["last"].get("failed_at"))
        C.ok("vidiking C failed within seconds", fa is not None and fa - parse_iso(c["created_at"]) <= 60,
             "<= 60 sim s", c["last"].get("failed_at"))

    # Re-read: same URL; visible without the sandbox header.
    for job in (a, b, dj):
        if job and (job["last"] or {}).get("status") == "COMPLETE":
            r = api("vidiking", "GET", f"/v1/render/{job['id']}", None, auth)
            C.eq(f"vidiking {job['tag']} re-read (no sandbox header) returns the same URL",
                 (r.json or {}).get("url") if isinstance(r.json, dict) else r, job["last"]["url"])
            download("vidiking", f"vidiking {job['tag']} url", job["last"]["url"], "video/mp4",
                     job["last"].get("file_size"))

    # List.
    r = api("vidiking", "GET", "/v1/render?limit=1", None, auth)
    j = r.json if isinstance(r.json, dict) else {}
    newest = jobs[-1]["id"] if jobs else None
    C.ok("vidiking list limit=1: {data: [newest job]}", r.status == 200 and isinstance(j.get("data"), list)
         and len(j["data"]) == 1 and j["data"][0].get("id") == newest, f"[{newest}]", r)
    r = api("vidiking", "GET", "/v1/render", None, auth)
    j = r.json if isinstance(r.json, dict) else {}
    ids = [x.get("id") for x in j.get("data") or []]
    C.ok("vidiking list: every job (sandbox and production), newest first",
         ids[:len(jobs)] == [x["id"] for x in reversed(jobs)], [x["id"] for x in reversed(jobs)], ids)
    for x in j.get("data") or []:
        mine = next((m for m in jobs if m["id"] == x.get("id")), None)
        if mine:
            C.eq(f"vidiking list item {mine['tag']}: status as in GET", x.get("status"), (mine["last"] or {}).get("status"))
            C.eq(f"vidiking list item {mine['tag']}: metadata echoed", x.get("metadata"), mine["body"].get("metadata"))
    for st in ("COMPLETE", "FAILED"):
        want = [x for x in jobs if (x["last"] or {}).get("status") == st]
        r = api("vidiking", "GET", f"/v1/render?limit=20&status={st}", None, auth)
        j = r.json if isinstance(r.json, dict) else {}
        data = j.get("data") or []
        C.ok(f"vidiking list status={st}: only {st} jobs, ours included", r.status == 200 and data and
             all(x.get("status") == st for x in data) and {w["id"] for w in want} <= {x.get("id") for x in data},
             f"{st} only, {[w['id'] for w in want]}", r)
    r = api("vidiking", "GET", "/v1/render?limit=500", None, auth)
    C.ok("vidiking list limit=500 is clamped, not refused", r.status == 200 and isinstance((r.json or {}).get("data"), list)
         and len(r.json["data"]) <= 100, "200, <= 100 items", r)

    # Webhooks.
    cb_a = DELIVERIES.wait_for(lambda d: d["path"] == "/vidiking/cb/A") if a else []
    cb_b = DELIVERIES.wait_for(lambda d: d["path"] == "/vidiking/cb/B") if b else []
    cb_c = DELIVERIES.wait_for(lambda d: d["path"] == "/vidiking/cb/C") if c else []

    def acct_for(job, ev):
        return lambda d: d["path"] == "/vidiking/account" and (body_json(d) or {}).get("event") == ev and (
            (body_json(d) or {}).get("data") or {}).get("id") == job["id"]

    def check_delivery(p, d, secret, job, event):
        C.ok(f"{p}: x-vidiking-signature = hex HMAC-SHA256 of the raw body", vidiking_verify(secret, d["headers"],
                                                                                            d["body"]),
             "valid signature", d["headers"].get("x-vidiking-signature"))
        bj = body_json(d) or {}
        C.eq(f"{p}: event", bj.get("event"), event)
        ts = parse_iso(bj.get("timestamp"))
        C.ok(f"{p}: timestamp ISO 8601 in sim time, fresh (5 min)", ts is not None and abs(ts - d["sim_now"]) <= 300,
             f"≈ {d['sim_now']:.0f}", bj.get("timestamp"))
        data = bj.get("data") if isinstance(bj.get("data"), dict) else {}
        C.eq(f"{p}: data.id", data.get("id"), job["id"])
        want_status = {"render.queued": "QUEUED", "render.processing": "PROCESSING", "render.complete": "COMPLETE",
                       "render.failed": "FAILED"}[event]
        C.eq(f"{p}: data.status", data.get("status"), want_status)
        C.ok(f"{p}: data.credits_used and data.wallet_balance numbers", is_num(data.get("credits_used"))
             and is_num(data.get("wallet_balance")), "numbers", data)
        if event in ("render.complete", "render.failed"):
            C.eq(f"{p}: data.credits_used equals the job's", data.get("credits_used"),
                 (job["last"] or {}).get("credits_used"))
        if event == "render.complete":
            C.eq(f"{p}: data.url", data.get("url"), (job["last"] or {}).get("url"))
            C.ok(f"{p}: data.duration number", is_num(data.get("duration")), "number", data.get("duration"))

    for job, cbs, secret, label in ((a, cb_a, acct_secret, "readiness-line secret"),
                                    (b, cb_b, my_secret, "secret set by PUT"),
                                    (c, cb_c, my_secret, "secret set by PUT")):
        if not job:
            continue
        event = "render.complete" if (job["last"] or {}).get("status") == "COMPLETE" else "render.failed"
        p = f"vidiking callback {job['tag']}"
        if not C.ok(f"{p}: delivered (terminal only)", len(cbs) >= 1 and all(
                (body_json(d) or {}).get("event") == event for d in cbs), f"{event} only",
                [(body_json(d) or {}).get("event") for d in cbs]):
            continue
        for d in cbs:
            check_delivery(f"{p} ({label})", d, secret, job, event)
    for job in (b, c, dj):
        if not job:
            continue
        final = (job["last"] or {}).get("status")
        events = ["render.queued"] + (["render.processing", "render.complete"] if final == "COMPLETE" else
                                      ["render.failed"])
        for ev in events:
            got = DELIVERIES.wait_for(acct_for(job, ev))
            p = f"vidiking account webhook {job['tag']} {ev}"
            if C.ok(f"{p}: delivered", len(got) >= 1, ">= 1", len(got)):
                for d in got:
                    check_delivery(p, d, my_secret, job, ev)
    if a:
        C.ok("vidiking account webhook got nothing for A (finished before the PUT)",
             not DELIVERIES.matching(lambda d: d["path"] == "/vidiking/account"
                                     and ((body_json(d) or {}).get("data") or {}).get("id") == a["id"]),
             "nothing", "deliveries")

    # Sandbox rate limit: 10 requests/min -> a burst meets 429 RATE_LIMITED with Retry-After.
    got429 = None
    for _ in range(25):
        r = api("vidiking", "GET", "/v1/render?limit=1", None, sandbox)
        if r.status == 429:
            got429 = r
            break
    if C.ok("vidiking sandbox burst meets 429 (10 requests/min)", got429 is not None, "a 429 within 25 requests",
            "none"):
        vk_error("vidiking sandbox 429", got429, 429, "RATE_LIMITED")
        C.ok("vidiking 429 Retry-After integer seconds", (got429.h("retry-after") or "").isdigit(), "integer",
             got429.h("retry-after"))
    return jobs


# ============================================================================================
# Admin: clock and stats
# ============================================================================================
def check_clock(admin):
    r = _raw("GET", admin + "/clock")
    j = r.json if isinstance(r.json, dict) else {}
    C.eq("GET {admin}/clock: 200", r.status, 200)
    C.ok("clock.now RFC 3339 with milliseconds", isinstance(j.get("now"), str)
         and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$", j["now"]) is not None,
         "YYYY-MM-DDTHH:MM:SS.mmmZ", j.get("now"))
    C.eq("clock.speed", j.get("speed"), SPEED)
    now = parse_iso(j.get("now"))
    C.ok("clock started at wall-clock time of the start (within a sim minute per real s)",
         now is not None and abs(now - time.time()) <= 60 + SPEED * (time.monotonic() - T_START) * 1.2,
         f"≈ {time.time():.0f} + elapsed×{SPEED:.0f}", j.get("now"))
    return now


def check_clock_rate(admin):
    m0 = time.monotonic()
    a = parse_iso((_raw("GET", admin + "/clock").json or {}).get("now"))
    time.sleep(0.5)
    b = parse_iso((_raw("GET", admin + "/clock").json or {}).get("now"))
    m1 = time.monotonic()
    if a is None or b is None:
        C.ok("sim clock runs at speed 600", False, "two clock reads", (a, b))
        return
    C.ok("sim clock runs at speed 600", 0.85 * SPEED * 0.5 <= b - a <= SPEED * (m1 - m0) * 1.1 + 5,
         f"≈ {SPEED * 0.5:.0f} sim s per 0.5 real s", f"{b - a:.1f}")


def check_stats(admin, vp_tasks, vg_execs, vk_jobs):
    info("Ground truth: GET {admin}/stats")
    r = _raw("GET", admin + "/stats")
    C.eq("GET {admin}/stats: 200", r.status, 200)
    s = r.json if isinstance(r.json, dict) else {}
    C.ok("stats.now RFC 3339 sim time", parse_iso(s.get("now")) is not None and abs(parse_iso(s["now"]) - CLOCK.now())
         <= 600, f"≈ {CLOCK.now():.0f}", s.get("now"))
    for top in ("providers", "tasks", "webhooks", "faults", "downloads"):
        C.ok(f"stats has {top}", top in s, "present", sorted(s))
    provs = s.get("providers") or {}
    for name in ("vibepeak", "videogen", "vidiking"):
        pv = provs.get(name) or {}
        mine = TALLY.get(name, {})
        C.eq(f"stats.providers.{name}.requests counts every request of ours", pv.get("requests"), mine.get("requests"))
        br = pv.get("by_route")
        C.ok(f"stats.providers.{name}.by_route {{'METHOD /route': n}} sums to requests",
             isinstance(br, dict) and all(re.match(r"^[A-Z]+ /", k) and is_int(v) for k, v in br.items())
             and sum(br.values()) == pv.get("requests"), f"sum == {pv.get('requests')}", br)
        resp = pv.get("responses") or {}
        C.eq(f"stats.providers.{name}.responses match ours",
             {k: resp.get(k) for k in ("2xx", "4xx", "429", "5xx", "none")},
             {k: mine.get(k, 0) for k in ("2xx", "4xx", "429", "5xx", "none")})
        wh = (s.get("webhooks") or {}).get(name) or {}
        got = len(DELIVERIES.matching(lambda d, n=name: d["path"].startswith(f"/{n}")))
        C.ok(f"stats.webhooks.{name} {{sent, delivered_2xx, forged: 0, forged_2xx: 0}}",
             all(is_int(wh.get(k)) for k in ("sent", "delivered_2xx", "forged", "forged_2xx"))
             and wh.get("forged") == 0 and wh.get("forged_2xx") == 0, "all four, forged 0", wh)
        C.eq(f"stats.webhooks.{name}.delivered_2xx equals deliveries we answered 2xx", wh.get("delivered_2xx"), got)
        C.ok(f"stats.webhooks.{name}.sent >= delivered_2xx", is_int(wh.get("sent")) and wh["sent"] >= got,
             f">= {got}", wh.get("sent"))
        dl = (s.get("downloads") or {}).get(name)
        d = DOWNLOADS.get(name, {"attempts": 0, "ok": 0})
        C.ok(f"stats.downloads.{name} counts our downloads", is_int(dl) and d["ok"] <= dl <= d["attempts"],
             f"{d['ok']}..{d['attempts']}", dl)
        C.ok(f"stats.faults.{name}: none injected", not any((s.get("faults") or {}).get(name, {}).values()),
             "no faults", (s.get("faults") or {}).get(name))
    tasks = [t for t in s.get("tasks") or [] if isinstance(t, dict)]
    C.ok("stats.tasks entries {provider, id, body_sha256, status, created_at, terminal_at}",
         tasks and all(all(k in t for k in ("provider", "id", "body_sha256", "status", "created_at", "terminal_at"))
                       for t in tasks), "all fields", tasks[:1])
    ours = ([("vibepeak", t["id"], "POST /v1/real-estate/narrated-slideshow", t["body"], (t["last"] or {}).get("status"),
              t["created_at"]) for t in vp_tasks if t["id"]]
            + [("videogen", e["id"], f"POST /v1/tools/{e['tool']}", e["body"], e["status"], None) for e in vg_execs]
            + [("vidiking", j["id"], "POST /v1/render", j["body"], (j["last"] or {}).get("status"), j["created_at"])
               for j in vk_jobs])
    for name in ("vibepeak", "videogen", "vidiking"):
        C.eq(f"stats.tasks: {name} count equals the tasks we created", sum(1 for t in tasks if t.get("provider") == name),
             sum(1 for o in ours if o[0] == name))
    for prov, tid, route, body, status, created in ours:
        t = next((x for x in tasks if x.get("provider") == prov and x.get("id") == tid), None)
        p = f"stats.tasks {prov} {tid}"
        if not C.ok(f"stats.tasks lists every task of ours", t is not None, "listed", f"{prov} {tid} missing"):
            continue
        method, path = route.split(" ", 1)
        C.eq(f"{p}: body_sha256 = SHA-256 of '{{METHOD}} {{path}}\\n{{canonical JSON without webhook_url/callback}}'",
             t.get("body_sha256"), canonical_sha(method, path, body))
        C.eq(f"{p}: status in the provider's words", t.get("status"), status)
        C.ok(f"{p}: terminal_at RFC 3339", parse_iso(t.get("terminal_at")) is not None, "RFC 3339",
             t.get("terminal_at"))
        if created:
            C.ok(f"{p}: created_at", parse_iso(t.get("created_at")) is not None
                 and abs(parse_iso(t["created_at"]) - parse_iso(created)) <= 1, created, t.get("created_at"))


# ============================================================================================
# Main
# ============================================================================================
RECV = None
SIM = None
RESULTS = {}  # provider -> the tasks a section created (kept when a section crashes)


def kill_sim():
    """SIGTERM, then SIGKILL after 5 s; returns the exit status after SIGTERM (None if it had to be killed)."""
    global SIM
    p, SIM = SIM, None
    if p is None:
        return None
    if p.poll() is not None:
        return p.returncode
    p.terminate()
    try:
        return p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        return None


def watchdog():
    print(f"FAIL the whole run finishes within {WALL_BUDGET:.0f} s: expected done, got still running", flush=True)
    C.failed.add("watchdog")
    kill_sim()
    print(C.summary(), flush=True)
    os._exit(1)


def read_line(stream, timeout):
    out = []

    def rd():
        out.append(stream.readline())

    t = threading.Thread(target=rd, daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else None


def main():
    global SIM, RECV, CLOCK
    if len(sys.argv) != 2:
        print("usage: python3 scripts/sim_conformance.py path/to/mediajobs", file=sys.stderr)
        return 2
    dog = threading.Timer(WALL_BUDGET, watchdog)
    dog.daemon = True
    dog.start()
    errlog = tempfile.TemporaryFile()
    server = None
    try:
        SIM = subprocess.Popen([sys.argv[1], "sim", "--addr", "127.0.0.1:0", "--speed", "600"],
                               stdout=subprocess.PIPE, stderr=errlog, stdin=subprocess.DEVNULL)
        line = read_line(SIM.stdout, 20)
        ready = None
        try:
            ready = json.loads(line) if line else None
        except ValueError:
            pass
        if not C.ok("readiness: one JSON line on stdout", isinstance(ready, dict), "a JSON object", line):
            return 1
        # a second line must not follow the readiness line
        extra = read_line(SIM.stdout, 0.3)
        C.ok("readiness: exactly one line", extra is None or extra == "", "nothing more", extra)
        for k in ("vibepeak", "videogen", "vidiking", "admin", "speed", "api_keys", "webhook_secrets"):
            C.ok(f"readiness has {k}", k in ready, "present", sorted(ready))
        port = None
        for name, suffix in (("vibepeak", "/vibepeak"), ("videogen", "/videogen"), ("vidiking", "/vidiking"),
                             ("admin", "/_sim")):
            m = re.match(r"^http://127\.0\.0\.1:(\d+)(/.*)$", str(ready.get(name)))
            C.ok(f"readiness {name} = http://127.0.0.1:P{suffix}", m is not None and m.group(2) == suffix
                 and (port is None or m.group(1) == port), f"http://127.0.0.1:P{suffix}", ready.get(name))
            port = m.group(1) if m else port
        C.eq("readiness speed", ready.get("speed"), SPEED)
        C.ok("readiness api_keys for all three", all(isinstance((ready.get("api_keys") or {}).get(p), str)
                                                     for p in ("vibepeak", "videogen", "vidiking")), "three keys",
             ready.get("api_keys"))
        C.ok("readiness webhook_secrets for vibepeak and vidiking",
             all(isinstance((ready.get("webhook_secrets") or {}).get(p), str) for p in ("vibepeak", "vidiking")),
             "two secrets", ready.get("webhook_secrets"))
        for p in ("vibepeak", "videogen", "vidiking"):
            BASES[p] = ready[p]
        admin = ready["admin"]
        now = check_clock(admin)
        CLOCK = SimClock(now if now is not None else time.time(), SPEED)
        check_clock_rate(admin)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        RECV = f"http://127.0.0.1:{server.server_address[1]}"

        sections = {}
        for name, fn in (("videogen", run_videogen), ("vibepeak", run_vibepeak), ("vidiking", run_vidiking)):
            try:
                sections[name] = fn(ready)
            except Exception as e:  # a crash in one section must not hide the others
                import traceback
                traceback.print_exc()
                C.ok(f"{name} section ran to its end", False, "no exception", repr(e))
                sections[name] = None
        vg = sections.get("videogen")
        if vg:
            try:
                videogen_expiry(*vg)
            except Exception as e:
                C.ok("videogen expiry section ran to its end", False, "no exception", repr(e))
        check_vg_ratelimit_headers()
        check_date_headers()
        check_stats(admin, RESULTS.get("vibepeak", []), RESULTS.get("videogen", []), RESULTS.get("vidiking", []))
        if SIM.poll() is not None:
            C.ok("the simulator is still running at the end", False, "running", f"exit {SIM.returncode}")
        else:
            rc = kill_sim()
            C.ok("the simulator shuts down cleanly on SIGTERM (exit 0 within 5 s)", rc == 0, 0, rc)
    except Exception as e:  # noqa: BLE001 - any crash of the script is a failed run, never a silent one
        import traceback
        traceback.print_exc(file=sys.stdout)
        C.ok("the conformance run completed", False, "no exception", repr(e))
    finally:
        kill_sim()
        if server:
            server.shutdown()
        dog.cancel()
        if C.failed:
            errlog.seek(0)
            tail = errlog.read()[-2000:].decode("utf-8", "replace").strip()
            if tail:
                info("simulator stderr (tail):")
                for ln in tail.splitlines():
                    info("  " + ln)
        info(f"took {time.monotonic() - T_START:.1f} real s")
        print(C.summary(), flush=True)
    return 1 if C.failed else 0


if __name__ == "__main__":
    sys.exit(main())
