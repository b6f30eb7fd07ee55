"""A webhook receiver for tests/webhooks.rs that checks signatures with Python's own `hmac`,
an implementation independent of the Rust crates factotum signs with.

It listens on 127.0.0.1 (a free port), prints `{"port": N}`, then one JSON line per request:
its headers (names in lower case), its body and whether the signature is valid (null when no
secret is set). The secret comes from the environment variable RECEIVER_SECRET (as bytes; unset
or empty: none). With RECEIVER_FAIL_FIRST=1 the first request is answered 503, so that factotum
posts that event again. It serves until it is killed.
"""

import hashlib
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


# The function the README's "Verifying webhook signatures" shows; tests/webhooks.rs checks that
# the README has it word for word.
def signature_is_valid(secret: bytes, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


SECRET = os.environb.get(b"RECEIVER_SECRET", b"")
FAIL_FIRST = os.environ.get("RECEIVER_FAIL_FIRST") == "1"


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests_seen = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.requests_seen += 1
        valid = None
        if SECRET:
            header = self.headers.get("X-Factotum-Signature-256", "")
            valid = signature_is_valid(SECRET, body, header)
        record = {
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode("utf-8"),
            "signature_valid": valid,
        }
        print(json.dumps(record), flush=True)
        status = 503 if FAIL_FIRST and Receiver.requests_seen == 1 else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        """Quiet: stdout carries only the records, and stderr stays clean for the test."""


server = HTTPServer(("127.0.0.1", 0), Receiver)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
