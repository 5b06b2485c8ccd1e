package main

// The program through the real Pulumi engine: the Automation API runs it inline (the Go SDK hosts
// its own language runtime, so no pulumi-language-go is needed) against the API at
// GEMINI_EXAMPLE_BASE_URL (the emulator, for instance). The engine installs the gemini plugin the SDK
// pins from the release the SDK names when PULUMI_HOME does not have it.

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

func TestProgramThroughTheEngine(t *testing.T) {
	baseURL := os.Getenv("GEMINI_EXAMPLE_BASE_URL")
	if baseURL == "" {
		t.Skip("set GEMINI_EXAMPLE_BASE_URL and GEMINI_API_KEY to run the program against that API")
	}
	ctx := context.Background()
	dir := t.TempDir()
	project := workspace.Project{
		Name:    "go-webhooks",
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: "file://" + dir},
	}
	stack, err := auto.UpsertStackInlineSource(ctx, "dev", "go-webhooks", program,
		auto.Project(project), auto.WorkDir(dir),
		auto.EnvVars(map[string]string{"PULUMI_CONFIG_PASSPHRASE": "go-example", "PULUMI_SKIP_UPDATE_CHECK": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.SetConfig(ctx, "gemini:baseUrl", auto.ConfigValue{Value: baseURL}); err != nil {
		t.Fatal(err)
	}

	up, err := stack.Up(ctx, optup.SuppressProgress())
	if err != nil {
		t.Fatal(err)
	}
	secrets := up.Outputs["signingSecrets"]
	if !secrets.Secret || len(strings.Fields(secrets.Value.(string))) != 2 {
		t.Fatalf("signingSecrets: want a secret with 2 secrets, got secret=%v", secrets.Secret)
	}
	if changes := (*up.Summary.ResourceChanges)["create"]; changes != 3 {
		t.Fatalf("first up: want 3 creates, got %v", *up.Summary.ResourceChanges)
	}

	again, err := stack.Up(ctx, optup.SuppressProgress())
	if err != nil {
		t.Fatal(err)
	}
	if changes := *again.Summary.ResourceChanges; changes["same"] != 3 || len(changes) != 1 {
		t.Fatalf("second up: want 3 same, got %v", changes)
	}

	if _, err := stack.Destroy(ctx, optdestroy.SuppressProgress()); err != nil {
		t.Fatal(err)
	}
}
