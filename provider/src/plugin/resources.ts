/** The plugin's resource types, each with the implementation it shares with the dynamic resources. */
import { rotationProvider, webhookProvider } from "../impl";
import { SECRET_ROTATION, WEBHOOK } from "./schema";

type Ops = typeof webhookProvider;

export interface ResourceKind {
  ops: Ops;
  /** Outputs always encrypted in state (the schema marks them `secret`). */
  secretOutputs: string[];
}

const KINDS: Record<string, ResourceKind> = {
  [WEBHOOK]: { ops: webhookProvider, secretOutputs: ["signingSecret"] },
  [SECRET_ROTATION]: { ops: rotationProvider, secretOutputs: ["secret"] },
};

/** The kind for a type token, or for a URN (`urn:pulumi:stack::project::[parent$]type::name`). */
export function kindOf(typeOrUrn: string): ResourceKind {
  const type = typeOrUrn.startsWith("urn:") ? (typeOrUrn.split("::")[2] ?? "").split("$").pop()! : typeOrUrn;
  const kind = KINDS[type];
  if (!kind) throw new Error(`unknown resource type ${JSON.stringify(type)}; the gemini provider has ${Object.keys(KINDS).join(", ")}`);
  return kind;
}
