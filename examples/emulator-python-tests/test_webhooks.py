"""Tests a team writes against the emulator: Google's SDK at its defaults (`genai.Client()`), a
receiver that verifies deliveries with `standardwebhooks`, and a rotation's grace window."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google import genai
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@pytest.fixture
def receiver():
    """A receiver on this machine, reachable from the emulator's container as host.docker.internal."""
    state = {"secrets": [], "verified": [], "refused": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            for secret in state["secrets"]:
                try:
                    state["verified"].append(Webhook(secret).verify(body, headers)["type"])
                    self.send_response(204)
                    self.end_headers()
                    return
                except WebhookVerificationError:
                    continue
            state["refused"] += 1
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["uri"] = f"http://host.docker.internal:{server.server_address[1]}/webhooks/gemini"
    yield state
    server.shutdown()


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.1)


def test_a_webhook_receives_signed_events(emulator, receiver):
    client = genai.Client()  # GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL from the environment
    webhook = client.webhooks.create(uri=receiver["uri"], subscribed_events=["batch.succeeded"], name="ci")
    receiver["secrets"] = [webhook.new_signing_secret]
    try:
        emulator.admin("POST", "/events", {"type": "batch.succeeded"})
        wait_for(lambda: receiver["verified"] == ["batch.succeeded"])
        assert receiver["refused"] == 0
    finally:
        client.webhooks.delete(webhook.id)


def test_a_rotation_keeps_the_old_secret_valid_for_the_grace_window(emulator, receiver):
    client = genai.Client()
    webhook = client.webhooks.create(uri=receiver["uri"], subscribed_events=["batch.succeeded"])
    old = webhook.new_signing_secret
    try:
        new = client.webhooks.rotate_signing_secret(webhook.id, revocation_behavior="revoke_previous_secrets_after_h24").secret
        secrets = client.webhooks.get(webhook.id).signing_secrets
        assert len(secrets) == 2 and sum(1 for s in secrets if s.expire_time is not None) == 1
        # A receiver still holding only the old secret keeps verifying during the window.
        receiver["secrets"] = [old]
        emulator.admin("POST", "/events", {"type": "batch.succeeded"})
        wait_for(lambda: len(receiver["verified"]) == 1)
        receiver["secrets"] = [new]
        emulator.admin("POST", "/events", {"type": "batch.succeeded"})
        wait_for(lambda: len(receiver["verified"]) == 2)
        assert receiver["refused"] == 0
    finally:
        client.webhooks.delete(webhook.id)


def test_deliveries_are_listed_with_their_attempts(emulator, receiver):
    client = genai.Client()
    webhook = client.webhooks.create(uri=receiver["uri"], subscribed_events=["batch.succeeded"])
    receiver["secrets"] = [webhook.new_signing_secret]
    try:
        event = emulator.admin("POST", "/events", {"type": "batch.succeeded"})
        wait_for(lambda: len(receiver["verified"]) == 1)
        deliveries = emulator.admin("GET", f"/deliveries?event_id={event['event_id']}")["deliveries"]
        assert [(d["status"], d["attempts"][0]["http_status"]) for d in deliveries] == [("succeeded", 204)]
        assert json.dumps(deliveries).count("whsec_") == 0
    finally:
        client.webhooks.delete(webhook.id)
