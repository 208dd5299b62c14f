#!/usr/bin/env python3
"""The OAuth 2.0 authorization server of the test environment (loopback only, standard library only).

It plays the provider for Mailroom's OAuth tests, and the introspection endpoint of the test Dovecot's
`oauth2` passdb (Postfix authenticates SMTP through Dovecot, so XOAUTH2 sending is checked by it too):

  GET  /authorize      authorization code with PKCE (RFC 7636, S256 only); consents at once for `login_hint`
  POST /devicecode     device authorization (RFC 8628); approved through /control/approve
  POST /token          grants: authorization_code, refresh_token (strict rotation: a refresh token works
                       once), urn:ietf:params:oauth:grant-type:device_code
  POST /introspect     RFC 7662, as Dovecot calls it (introspection_mode = post): {"active", "username"}

Control endpoints for tests (JSON in, JSON out):
  POST /control/user      {"username", "ttl"?} -> {"refresh_token", "access_token", "expires_in"}
  POST /control/revoke    {"username"}: every token of the user stops working (invalid_grant, inactive)
  POST /control/expire    {"username"}: the user's access tokens expire now (refresh still works)
  POST /control/ttl       {"seconds"}: lifetime of access tokens issued from now on
  POST /control/fault     {"username", "mode": "5xx"|"429"|"garbage"|"html"|"oversized"|"slow", "count",
                           "retry_after"?, "delay"?}: the next `count` refreshes of that user's grant fail that
                           way (per user, so tests running at once do not take each other's faults)
  POST /control/approve   {"user_code", "username"}: approves a device authorization
  GET  /control/stats     refreshes per user (times), rotated refresh tokens presented again, token requests
                          (all, and per user whose current refresh token was presented)

Usage: oauth_token_server.py PORT PIDFILE
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
USERS = {}          # username -> {"refresh": token, "revoked": bool, "ttl": seconds or None}
ACCESS = {}         # access token -> {"username", "expires"}
CODES = {}          # authorization code -> {"username", "challenge", "redirect_uri", "client_id", "expires"}
DEVICES = {}        # device_code -> {"user_code", "username" or None, "expires"}
STATS = {"refreshes": {}, "rotated_reuse": 0, "token_requests": 0, "requests_by_user": {}, "introspections": 0}
SETTINGS = {"ttl": 3600}
FAULTS = {}         # username -> {"mode", "count", "retry_after", "delay"}


def new_token(prefix):
    return prefix + "-" + secrets.token_urlsafe(24)


def issue(username, rotate=True):
    """Access token (and a new refresh token when rotating) for `username`; call under LOCK."""
    user = USERS[username]
    ttl = user.get("ttl") or SETTINGS["ttl"]
    access = new_token("at")
    ACCESS[access] = {"username": username, "expires": time.time() + ttl}
    if rotate:
        user["refresh"] = new_token("rt")
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": user["refresh"], "scope": "mail"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: tests read /control/stats instead
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self):
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body().decode(), keep_blank_values=True).items()}

    def json_body(self):
        raw = self.body()
        return json.loads(raw) if raw else {}

    def send(self, status, payload, content_type="application/json", headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def oauth_error(self, error, description, status=400):
        self.send(status, {"error": error, "error_description": description})

    # --- GET ---------------------------------------------------------------------------------------

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/authorize":
            return self.authorize(query)
        if url.path == "/control/stats":
            with LOCK:
                return self.send(200, STATS)
        self.send(404, {"error": "not_found"})

    def authorize(self, q):
        redirect = q.get("redirect_uri", "")
        state = q.get("state", "")
        username = q.get("login_hint", "")

        def back(params):
            params["state"] = state
            sep = "&" if "?" in redirect else "?"
            self.send(302, b"", "text/plain", {"Location": redirect + sep + urllib.parse.urlencode(params)})

        if q.get("response_type") != "code" or not redirect:
            return self.send(400, {"error": "invalid_request"})
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return back({"error": "invalid_request", "error_description": "PKCE with S256 is required"})
        with LOCK:
            user = USERS.get(username)
            if user is None or user["revoked"]:
                return back({"error": "access_denied", "error_description": "the user did not consent"})
            code = new_token("code")
            CODES[code] = {"username": username, "challenge": q["code_challenge"], "redirect_uri": redirect,
                           "client_id": q.get("client_id"), "expires": time.time() + 60}
        back({"code": code})

    # --- POST --------------------------------------------------------------------------------------

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/token":
            return self.token()
        if path == "/introspect":
            return self.introspect()
        if path == "/devicecode":
            self.form()
            with LOCK:
                device, user_code = new_token("dc"), secrets.token_hex(4).upper()
                DEVICES[device] = {"user_code": user_code, "username": None, "expires": time.time() + 600}
            return self.send(200, {"device_code": device, "user_code": user_code, "expires_in": 600, "interval": 1,
                                   "verification_uri": "http://%s/device" % self.headers.get("Host", "")})
        if path.startswith("/control/"):
            return self.control(path[len("/control/"):], self.json_body())
        self.send(404, {"error": "not_found"})

    def fault(self, username):
        """Answers the request with the fault set for `username` and returns True, or returns False."""
        with LOCK:
            fault = FAULTS.get(username)
            if not fault or fault["count"] <= 0:
                return False
            fault["count"] -= 1
            mode, retry_after, delay = fault["mode"], fault.get("retry_after"), float(fault.get("delay") or 0)
        if mode == "slow":
            time.sleep(delay)
            return False
        if mode == "5xx":
            self.send(503, {"error": "temporarily_unavailable"})
        elif mode == "429":
            self.send(429, {"error": "slow_down"}, headers={"Retry-After": str(retry_after or 1)})
        elif mode == "garbage":
            self.send(200, b"\x00\xffnot json at all", "application/json")
        elif mode == "html":
            self.send(200, b"<html><body>Sign in to continue</body></html>", "text/html")
        elif mode == "oversized":
            self.send(200, b"{\"access_token\": \"" + b"a" * (4 * 1024 * 1024) + b"\"}")
        return True

    def token(self):
        f = self.form()
        grant = f.get("grant_type")
        with LOCK:
            STATS["token_requests"] += 1
            faulty = next((u for u, v in USERS.items() if v["refresh"] == f.get("refresh_token")), None)
            if faulty:
                STATS["requests_by_user"][faulty] = STATS["requests_by_user"].get(faulty, 0) + 1
        if self.fault(faulty):
            return
        with LOCK:
            if grant == "refresh_token":
                presented = f.get("refresh_token", "")
                owner = next((u for u, v in USERS.items() if v["refresh"] == presented), None)
                if owner is None:
                    STATS["rotated_reuse"] += 1
                    return self.oauth_error("invalid_grant", "the refresh token is not valid (used, rotated or revoked)")
                if USERS[owner]["revoked"]:
                    return self.oauth_error("invalid_grant", "the user withdrew consent")
                STATS["refreshes"].setdefault(owner, []).append(time.time())
                return self.send(200, issue(owner))
            if grant == "authorization_code":
                code = CODES.pop(f.get("code", ""), None)
                if code is None or code["expires"] < time.time():
                    return self.oauth_error("invalid_grant", "the authorization code is not valid")
                verifier = f.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != code["challenge"]:
                    return self.oauth_error("invalid_grant", "PKCE verification failed")
                if f.get("redirect_uri") != code["redirect_uri"]:
                    return self.oauth_error("invalid_grant", "redirect_uri does not match")
                return self.send(200, issue(code["username"]))
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                device = DEVICES.get(f.get("device_code", ""))
                if device is None or device["expires"] < time.time():
                    return self.oauth_error("expired_token", "the device code expired")
                if device["username"] is None:
                    return self.oauth_error("authorization_pending", "waiting for the user")
                DEVICES.pop(f["device_code"])
                return self.send(200, issue(device["username"]))
        self.oauth_error("unsupported_grant_type", "grant type %r" % grant)

    def introspect(self):
        token = self.form().get("token", "")
        with LOCK:
            STATS["introspections"] += 1
            entry = ACCESS.get(token)
            active = (entry is not None and entry["expires"] > time.time()
                      and not USERS.get(entry["username"], {}).get("revoked", True))
        self.send(200, {"active": True, "username": entry["username"]} if active else {"active": False})

    def control(self, verb, body):
        with LOCK:
            if verb == "user":
                name = body["username"]
                USERS[name] = {"refresh": new_token("rt"), "revoked": False, "ttl": body.get("ttl")}
                return self.send(200, issue(name, rotate=False))
            if verb == "revoke":
                USERS[body["username"]]["revoked"] = True
                return self.send(200, {})
            if verb == "expire":
                for entry in ACCESS.values():
                    if entry["username"] == body["username"]:
                        entry["expires"] = 0
                return self.send(200, {})
            if verb == "ttl":
                SETTINGS["ttl"] = int(body["seconds"])
                return self.send(200, {})
            if verb == "fault":
                FAULTS[body["username"]] = {"mode": body["mode"], "count": int(body.get("count", 1)),
                                            "retry_after": body.get("retry_after"), "delay": body.get("delay")}
                return self.send(200, {})
            if verb == "approve":
                for device in DEVICES.values():
                    if device["user_code"] == body["user_code"]:
                        device["username"] = body["username"]
                        return self.send(200, {})
                return self.send(404, {"error": "no such user code"})
        self.send(404, {"error": "no such control"})


def main():
    port, pidfile = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pidfile + ".tmp", pidfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
