/**
 * lane: full (the Pulumi CLI and Pulumi's code generators, built with Go)
 * The SDKs generated from the schema the plugin serves (`npm run sdks`, typed as the README types
 * it): every one marks the secrets; the Node.js SDK typechecks; the Go SDK requires the Pulumi Go SDK
 * its code was generated for; the .NET SDK is generated (no .NET toolchain on this machine). The
 * Python and Go SDKs are used as users use them — installed from an index and a module proxy into
 * copied-out examples — in test/examples/copied-out.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SDKS_DIR } from "../../scripts/gen-sdks";
import { REPO_ROOT } from "../../scripts/paths";
import { execCommand } from "../../scripts/exec";

/** A command with extra environment over this process's. */
const run = (cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  execCommand(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });

beforeAll(async () => {
  // `npm run sdks` as the README types it.
  const sdks = await execCommand("npm", ["run", "sdks"], { cwd: REPO_ROOT });
  assert.equal(sdks.code, 0, sdks.output);
  assert.match(sdks.stdout, /SDKs written to .*dist\/sdks\/\{nodejs,python,go,dotnet\}/);
});

test("the schema the plugin serves marks the secrets, and every SDK generated from it encrypts them", () => {
  const schema = JSON.parse(readFileSync(join(SDKS_DIR, "schema.json"), "utf8"));
  assert.equal(schema.resources["gemini:index:Webhook"].properties.signingSecret.secret, true);
  assert.equal(schema.resources["gemini:index:SecretRotation"].properties.secret.secret, true);
  assert.equal(schema.config.variables.apiKey.secret, true);
  assert.equal(schema.provider.inputProperties.apiKey.secret, true);
  for (const [file, mark] of [
    ["nodejs/webhook.ts", /additionalSecretOutputs: \["signingSecret"\]/],
    ["python/pulumi_gemini/webhook.py", /additional_secret_outputs=\["signingSecret"\]/],
    ["go/gemini/webhook.go", /"signingSecret",\s*\}\)/],
    ["dotnet/Webhook.cs", /AdditionalSecretOutputs =\s*\{\s*"signingSecret",/],
    ["dotnet/SecretRotation.cs", /AdditionalSecretOutputs =\s*\{\s*"secret",/],
  ] as const) {
    assert.match(readFileSync(join(SDKS_DIR, file), "utf8"), mark, file);
  }
});

test("the Node.js SDK typechecks against @pulumi/pulumi", async () => {
  const tsc = await run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(SDKS_DIR, "nodejs"), "--noEmit"]);
  assert.equal(tsc.code, 0, tsc.output);
});


test("the Go SDK requires the Pulumi Go SDK its code was generated for (3.269's ExistsResource took an IDInput: `go get` into a new module failed to compile)", () => {
  const generator = /github\.com\/pulumi\/pulumi\/sdk\/v3 (v\S+)/.exec(readFileSync(join(REPO_ROOT, "tools", "gen-sdk", "current", "go.mod"), "utf8"))![1];
  assert.match(readFileSync(join(SDKS_DIR, "go", "go.mod"), "utf8"), new RegExp(`^require github\\.com/pulumi/pulumi/sdk/v3 ${generator.replaceAll(".", "\\.")}$`, "m"));
});
