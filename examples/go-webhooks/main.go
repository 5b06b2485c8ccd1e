// Gemini API webhooks from Go, through the gemini provider plugin and its generated SDK.
package main

import (
	"github.com/gemini-webhooks/pulumi-gemini-webhooks/sdk/go/gemini"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(program)
}

func program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	receiverURL := cfg.Get("receiverUrl")
	if receiverURL == "" {
		receiverURL = "https://example.com/webhooks/gemini"
	}
	rotationKey := cfg.Get("rotationKey")
	if rotationKey == "" {
		rotationKey = "2026-12"
	}

	orders, err := gemini.NewWebhook(ctx, "orders", &gemini.WebhookArgs{
		Name:             pulumi.String("orders"),
		Uri:              pulumi.String(receiverURL),
		SubscribedEvents: pulumi.ToStringArray([]string{"batch.succeeded", "batch.failed", "batch.expired"}),
	})
	if err != nil {
		return err
	}
	// A new rotationKey rotates the secret; the previous one keeps working for 24 h.
	rotation, err := gemini.NewSecretRotation(ctx, "orders-rotation", &gemini.SecretRotationArgs{
		WebhookId:   orders.ID().ToStringOutput(),
		RotationKey: pulumi.String(rotationKey),
	})
	if err != nil {
		return err
	}
	secrets := gemini.GetCurrentSigningSecretsOutput(ctx, gemini.GetCurrentSigningSecretsOutputArgs{
		SigningSecret:           orders.SigningSecret,
		RotationSecret:          rotation.Secret,
		PreviousSecretsExpireAt: rotation.PreviousSecretsExpireAt,
	})
	ctx.Export("webhookId", orders.ID())
	ctx.Export("signingSecrets", secrets.Env())
	return nil
}
