"""Gemini API webhooks from Python, through the gemini provider plugin and its generated SDK."""
import pulumi
import pulumi_gemini as gemini

config = pulumi.Config()

orders = gemini.Webhook(
    "orders",
    name="orders",
    uri=config.get("receiverUrl") or "https://example.com/webhooks/gemini",
    subscribed_events=["batch.succeeded", "batch.failed", "batch.expired"],
)

# Change rotationKey (`pulumi config set rotationKey 2027-01`) and `pulumi up` rotates the secret;
# the previous one keeps working for 24 h.
rotation = gemini.SecretRotation(
    "orders-rotation",
    webhook_id=orders.id,
    rotation_key=config.get("rotationKey") or "2026-12",
)

# Every secret the receiver must accept now (a secret output).
receiver_secrets = gemini.get_current_signing_secrets_output(
    signing_secret=orders.signing_secret,
    rotation_secret=rotation.secret,
    previous_secrets_expire_at=rotation.previous_secrets_expire_at,
)

pulumi.export("webhookId", orders.id)
pulumi.export("signingSecrets", receiver_secrets.env)
