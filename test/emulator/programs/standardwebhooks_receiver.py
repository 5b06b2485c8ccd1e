"""A Python receiver as the seed guide writes one, on the standard library's http.server: each
delivery verified with `standardwebhooks` (the secret from WEBHOOK_SECRET), 204 when it verifies,
401 when it does not. GET /received lists the verified webhook-ids and event types as JSON."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
received = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event = webhook.verify(body, {k.lower(): v for k, v in self.headers.items()})
        except WebhookVerificationError:
            self.send_response(401)
            self.end_headers()
            return
        with lock:
            received.append({"id": self.headers["webhook-id"], "type": event["type"]})
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        with lock:
            payload = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server.serve_forever()
