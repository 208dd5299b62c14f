#!/usr/bin/env python3
"""A webhook receiver for tests (loopback only, standard library only, threaded).

It records every request (method, path, headers, body, when, and what it answered) and answers the way
it is told. Each test starts its own receiver: it binds 127.0.0.1 on a free port and prints
`PORT <n>` on its first line of standard output.

Control endpoints (JSON in, JSON out):
  POST /control/mode  {"mode": ..., "count"?, "fraction"?, "seed"?, "status"?, "delay"?, "size"?}
        ok        answer 200 (the default)
        fail      answer `status` (default 503) to a `fraction` (default 1) of requests, drawn with `seed`
        down      close the connection without answering
        redirect  answer `status` (default 302) with a Location header
        hang      wait `delay` seconds (default 3600) before answering 200
        huge      answer 200 with a body of `size` bytes (default 4 MiB)
      With `count`, the mode applies to the next `count` requests, then the receiver answers 200 again.
  GET  /control/requests  every recorded request, in arrival order
  POST /control/reset     forgets the recorded requests and goes back to `ok`

Usage: webhook_receiver.py
"""
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
MODE = {"mode": "ok"}
RNG = random.Random(0)


def take_mode():
    """The mode for the request arriving now; counts down a limited mode."""
    with LOCK:
        mode = dict(MODE)
        if "count" in MODE:
            MODE["count"] -= 1
            if MODE["count"] <= 0:
                MODE.clear()
                MODE["mode"] = "ok"
        if mode["mode"] == "fail" and RNG.random() >= float(mode.get("fraction", 1)):
            mode = {"mode": "ok"}
        return mode


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, value):
        self.reply(200, json.dumps(value).encode(), [("Content-Type", "application/json")])

    def do_GET(self):
        if self.path == "/control/requests":
            with LOCK:
                self.reply_json(list(REQUESTS))
        else:
            self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/control/mode":
            global RNG
            with LOCK:
                MODE.clear()
                MODE.update(json.loads(body))
                RNG = random.Random(MODE.get("seed", 0))
            self.reply_json({"ok": True})
            return
        if self.path == "/control/reset":
            with LOCK:
                REQUESTS.clear()
                MODE.clear()
                MODE["mode"] = "ok"
            self.reply_json({"ok": True})
            return
        mode = take_mode()
        name = mode["mode"]
        status = {"ok": 200, "hang": 200, "huge": 200, "down": 0}.get(name, int(mode.get("status", 302 if name == "redirect" else 503)))
        record = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace"), "time": time.time(), "status": status}
        with LOCK:
            REQUESTS.append(record)
        if name == "down":
            self.close_connection = True
            self.connection.shutdown(2)
        elif name == "hang":
            time.sleep(float(mode.get("delay", 3600)))
            self.reply(200)
        elif name == "huge":
            self.reply(200, b"x" * int(mode.get("size", 4 << 20)))
        elif name == "redirect":
            self.reply(status, headers=[("Location", "http://127.0.0.1:1/elsewhere")])
        else:
            self.reply(status)


def main():
    # A parent may have blocked or ignored SIGTERM (the mask is inherited across exec): the test stops
    # this process with it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
