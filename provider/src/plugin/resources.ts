/** The plugin's resource types, each with the implementation it shares with the dynamic resources. */
import { SECRET_ROTATION, secretOutputs, WEBHOOK } from "../declarations";
import { rotationProvider, webhookProvider } from "../impl";

type Ops = typeof webhookProvider;

export interface ResourceKind {
  ops: Ops;
  /** Outputs always encrypted in state (the schema marks them `secret`). */
  secretOutputs: string[];
}

const KINDS: Record<string, ResourceKind> = {
  [WEBHOOK.token]: { ops: webhookProvider, secretOutputs: secretOutputs(WEBHOOK) },
  [SECRET_ROTATION.token]: { ops: rotationProvider, secretOutputs: secretOutputs(SECRET_ROTATION) },
};

/** The kind for a type token, or for a URN (`urn:pulumi:stack::project::[parent$]type::name`). */
export function kindOf(typeOrUrn: string): ResourceKind {
  const type = typeOrUrn.startsWith("urn:") ? (typeOrUrn.split("::")[2] ?? "").split("$").pop()! : typeOrUrn;
  const kind = KINDS[type];
  if (!kind) throw new Error(`unknown resource type ${JSON.stringify(type)}; the gemini provider has ${Object.keys(KINDS).join(", ")}`);
  return kind;
}
