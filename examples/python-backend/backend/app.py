"""The guide's Flask callback, behind the receiver: the receiver verifies Gemini's signature, dedupes,
queues and retries; this app verifies the receiver's forward (its own secret, from a file that a
rotation rewrites) with `standardwebhooks` and handles each event — idempotently on its webhook-id.
"""
import json
import os
import threading

from flask import Flask, jsonify, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

app = Flask(__name__)
SECRETS_FILE = os.environ["FORWARD_SECRETS_FILE"]  # whsec_ secrets, whitespace-separated (two during a rotation)
handled = {}  # webhook-id -> event type: stands in for your database (make your writes idempotent on the id)
lock = threading.Lock()


def secrets():
    # Re-read on every request: a rotation rewrites the file, nothing restarts.
    with open(SECRETS_FILE, encoding="utf-8") as f:
        return f.read().split()


@app.post("/gemini-callback")
def gemini_callback():
    payload = request.get_data(as_text=True)
    headers = {k.lower(): v for k, v in request.headers.items()}
    for secret in secrets():
        try:
            event = Webhook(secret).verify(payload, headers)
            break
        except WebhookVerificationError:
            continue
    else:
        return jsonify({"error": "signature invalid"}), 401

    with lock:
        handled.setdefault(headers["webhook-id"], event["type"])
    if event.get("type") in ("batch.succeeded", "video.generated"):
        print(f"{event['type']}: {json.dumps(event.get('data', {}))}", flush=True)
    return jsonify({"status": "received"}), 200


@app.get("/handled")
def list_handled():
    with lock:
        return jsonify(handled)


@app.get("/healthz")
def healthz():
    return jsonify({"ok": True})
