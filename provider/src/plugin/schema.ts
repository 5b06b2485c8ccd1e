/**
 * The Pulumi package schema of the `gemini` plugin: what YAML resolves types against and what
 * `pulumi package gen-sdk` generates SDKs from — derived from the one declaration of each resource,
 * function and config key (../declarations.ts), plus the package's own metadata.
 */
import { CONFIG, FUNCTIONS, FunctionDeclaration, GET_CURRENT_SIGNING_SECRETS as GET_SECRETS, outputsOf, Property, RESOURCES, ResourceDeclaration, SECRET_ROTATION as ROTATION, TYPES, WEBHOOK as WEBHOOK_DECL } from "../declarations";

export const PACKAGE = "gemini";

/** The project's public home, from this package's package.json: where releases, the SDKs and the docs live. */
const REPOSITORY: string = (require("../../package.json") as { repository: { url: string } }).repository.url.replace(/^git\+/, "").replace(/\.git$/, "");
/** Where `pulumi` downloads the plugin from: the GitHub release assets `pulumi-resource-gemini-v<version>-<os>-<arch>.tar.gz`. */
export const PLUGIN_DOWNLOAD_URL = `github://api.github.com/${new URL(REPOSITORY).pathname.slice(1)}`;
/** The Go SDK's module, as `go get` takes it (the release commits it under sdk/go and tags sdk/go/v<version>). */
export const GO_MODULE = `${new URL(REPOSITORY).host}${new URL(REPOSITORY).pathname}/sdk/go`;
export const WEBHOOK = WEBHOOK_DECL.token;
export const SECRET_ROTATION = ROTATION.token;
export const GET_CURRENT_SIGNING_SECRETS = GET_SECRETS.token;

/** A declared property as the schema states it (its TypeScript type is not the schema's business). */
function schemaProperty({ type, $ref, items, description, secret, default: fallback }: Property): Record<string, unknown> {
  return {
    ...(type ? { type } : {}),
    ...($ref ? { $ref } : {}),
    ...(items ? { items } : {}),
    description,
    ...(secret ? { secret: true } : {}),
    ...(fallback !== undefined ? { default: fallback } : {}),
  };
}

const properties = (props: Record<string, Property>) => Object.fromEntries(Object.entries(props).map(([name, p]) => [name, schemaProperty(p)]));

function resource(decl: ResourceDeclaration) {
  return {
    description: decl.description,
    inputProperties: properties(decl.inputs),
    requiredInputs: Object.entries(decl.inputs).filter(([, p]) => p.required).map(([name]) => name),
    properties: properties(outputsOf(decl)),
    required: decl.requiredOutputs,
  };
}

function fn(decl: FunctionDeclaration) {
  return {
    description: decl.description,
    inputs: { properties: properties(decl.args), ...(decl.requiredArgs ? { required: decl.requiredArgs } : {}) },
    outputs: { properties: properties(decl.results), required: decl.requiredResults },
  };
}

const config = properties(CONFIG);

const DESCRIPTION = "Gemini API webhooks and their signing secrets: encrypted secrets, rotation with a 24 h grace window, drift detection, import.";

const PYTHON_README = `# pulumi_gemini

${DESCRIPTION}

The Python SDK of the \`gemini\` Pulumi package: \`gemini.Webhook\`, \`gemini.SecretRotation\`, the lookups
\`get_webhook\` / \`get_webhooks\` and \`get_current_signing_secrets\`. The engine runs the \`gemini\` resource
plugin, downloaded from the package's release on first use. Docs: ${REPOSITORY}
`;

export const schema = {
  name: PACKAGE,
  displayName: "Gemini API webhooks",
  description: DESCRIPTION,
  keywords: ["pulumi", "gemini", "webhooks", "standard-webhooks", "category/utility"],
  license: "Apache-2.0",
  publisher: "gemini-webhooks",
  homepage: REPOSITORY,
  repository: REPOSITORY,
  pluginDownloadURL: PLUGIN_DOWNLOAD_URL,
  // Generated SDKs carry their own package metadata (go.mod, pyproject.toml, package.json).
  meta: { supportPack: true },
  config: { variables: config },
  provider: {
    description: "The gemini provider: which API (origin and version) and which key.",
    inputProperties: config,
    properties: { baseUrl: config.baseUrl, apiVersion: config.apiVersion },
  },
  types: Object.fromEntries(
    Object.entries(TYPES).map(([token, t]) => [token, { type: "object", description: t.description, properties: properties(t.properties), required: t.required }]),
  ),
  resources: Object.fromEntries(RESOURCES.map((decl) => [decl.token, resource(decl)])),
  functions: Object.fromEntries(FUNCTIONS.map((decl) => [decl.token, fn(decl)])),
  language: {
    nodejs: { packageName: "@gemini-webhooks/pulumi-gemini", packageDescription: "Gemini API webhooks as code (the gemini plugin's SDK)." },
    // The README pyproject.toml names (without it, installing the SDK from source printed pip errors).
    python: { packageName: "pulumi_gemini", pyproject: { enabled: true }, readme: PYTHON_README },
    go: { importBasePath: `${GO_MODULE}/gemini`, generateResourceContainerTypes: true },
    csharp: { rootNamespace: "GeminiWebhooks", packageReferences: { Pulumi: "3.*" } },
  },
};

/** The schema as the engine asks for it, with the plugin's version. */
export function schemaJson(version: string): string {
  return JSON.stringify({ ...schema, version });
}
