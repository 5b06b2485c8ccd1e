"""Google's Python SDK (google-genai) against the emulator at the SDK's defaults: the key from
GEMINI_API_KEY and the origin from GOOGLE_GEMINI_BASE_URL, nothing else configured. Every webhooks
method once, pagination, both rotation modes, both API versions, and the SDK's typed errors.
Prints one JSON object per check: {"check": name, ...what was observed}.
"""
import json
import os

from google import genai


def report(check, **observed):
    print(json.dumps({"check": check, **observed}, default=str), flush=True)


client = genai.Client()  # defaults only

created = client.webhooks.create(uri="https://example.com/py/a", subscribed_events=["batch.succeeded", "batch.failed"], name="py-a")
report("create", id=created.id, name=created.name, state=created.state, events=list(created.subscribed_events),
       secret_prefix=(created.new_signing_secret or "")[:6], truncated=[s.truncated_secret for s in created.signing_secrets])

got = client.webhooks.get(created.id)
report("get", id=got.id, uri=got.uri, secret_returned=got.new_signing_secret is not None)

more = [client.webhooks.create(uri=f"https://example.com/py/{i}", subscribed_events=["video.generated"]).id for i in range(2)]
seen, token, pages = [], None, 0
while True:
    page = client.webhooks.list(page_size=2, page_token=token) if token else client.webhooks.list(page_size=2)
    pages += 1
    seen += [w.id for w in page.webhooks]
    token = page.next_page_token
    if not token:
        break
report("list", pages=pages, ids=seen, expected=[created.id, *more])

updated = client.webhooks.update(created.id, name="py-a2", update_mask="name")
report("update_masked", name=updated.name, events=list(updated.subscribed_events))
updated = client.webhooks.update(created.id, state="disabled", subscribed_events=["interaction.completed"])
report("update_unmasked", state=updated.state, events=list(updated.subscribed_events), name=updated.name)

rotated = client.webhooks.rotate_signing_secret(created.id, revocation_behavior="revoke_previous_secrets_after_h24")
after = client.webhooks.get(created.id).signing_secrets
report("rotate_after_h24", secret_prefix=rotated.secret[:6], secrets=len(after), expiring=sum(1 for s in after if s.expire_time is not None))
rotated = client.webhooks.rotate_signing_secret(created.id, revocation_behavior="revoke_previous_secrets_immediately")
report("rotate_immediately", secrets=len(client.webhooks.get(created.id).signing_secrets))

report("ping", response=type(client.webhooks.ping(more[0])).__name__)
report("v1beta", id=client.webhooks.get(created.id, api_version="v1beta").id)

for webhook_id in [created.id, *more]:
    client.webhooks.delete(webhook_id)
try:
    client.webhooks.get(created.id)
    report("not_found", error=None)
except Exception as e:  # the SDK's typed error
    report("not_found", error=type(e).__name__, status=getattr(e, "status_code", None))
try:
    client.webhooks.create(uri="not a url", subscribed_events=["batch.succeeded"])
    report("bad_request", error=None)
except Exception as e:
    report("bad_request", error=type(e).__name__, message=str(e)[:300])
wrong_key = "wrong-key-" + "0" * 16
wrong = genai.Client(api_key=wrong_key)
try:
    wrong.webhooks.list()
    report("wrong_key", error=None)
except Exception as e:
    report("wrong_key", error=type(e).__name__, reason="API_KEY_INVALID" in str(e), key_echoed=wrong_key in str(e) or os.environ["GEMINI_API_KEY"] in str(e))
