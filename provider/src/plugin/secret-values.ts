/**
 * Secrets on the provider protocol: the engine sends a secret as an object tagged with Pulumi's
 * signature (`sig.Secret`) once the provider says it accepts secrets, and restores nothing the
 * provider returns plain — so inputs are unwrapped for the implementation and outputs re-wrapped here.
 */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, unknown>;

export function isSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Props)[SIG_KEY] === SECRET_SIG;
}

export function secret(value: unknown): unknown {
  return isSecret(value) ? value : { [SIG_KEY]: SECRET_SIG, value };
}

function reveal(value: unknown): { plain: unknown; hadSecret: boolean } {
  if (isSecret(value)) return { plain: reveal(value.value).plain, hadSecret: true };
  if (Array.isArray(value)) {
    const items = value.map(reveal);
    return { plain: items.map((i) => i.plain), hadSecret: items.some((i) => i.hadSecret) };
  }
  if (typeof value === "object" && value !== null) {
    let hadSecret = false;
    const plain: Props = {};
    for (const [k, v] of Object.entries(value)) {
      const r = reveal(v);
      plain[k] = r.plain;
      hadSecret ||= r.hadSecret;
    }
    return { plain, hadSecret };
  }
  return { plain: value, hadSecret: false };
}

/** Plain properties, and the top-level names that held a secret anywhere inside. */
export function unwrapProps(props: Props): { plain: Props; secretKeys: Set<string> } {
  const plain: Props = {};
  const secretKeys = new Set<string>();
  for (const [k, v] of Object.entries(props)) {
    const r = reveal(v);
    plain[k] = r.plain;
    if (r.hadSecret) secretKeys.add(k);
  }
  return { plain, secretKeys };
}

/** `props` with every name in `secretKeys` wrapped; nulls stay null (nothing to hide). */
export function wrapProps(props: Props, secretKeys: Iterable<string>): Props {
  const out: Props = { ...props };
  for (const k of secretKeys) {
    if (out[k] !== undefined && out[k] !== null) out[k] = secret(out[k]);
  }
  return out;
}

/** Drops `undefined` values, which a protobuf Struct cannot carry. */
export function defined(props: Props): Props {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

/** Every text inside a secret-wrapped value of `props` (at any depth): what errors must never repeat. */
export function secretTexts(props: Props): string[] {
  const texts: string[] = [];
  const collect = (value: unknown, inSecret: boolean): void => {
    if (isSecret(value)) return collect(value.value, true);
    if (Array.isArray(value)) return value.forEach((v) => collect(v, inSecret));
    if (typeof value === "object" && value !== null) return Object.values(value).forEach((v) => collect(v, inSecret));
    if (inSecret && value !== null && value !== undefined && typeof value !== "boolean" && String(value).length >= 3) texts.push(String(value));
  };
  collect(props, false);
  // Longest first, so a secret that contains another is replaced whole.
  return [...new Set(texts)].sort((a, b) => b.length - a.length);
}

/** `text` with every secret text (plain or JSON-escaped) replaced by `[secret]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secretText of secrets) {
    // A secret longer than the text cannot be in it in any spelling (each is at least as long): no copies made.
    if (secretText.length > out.length) continue;
    if (out.includes(secretText)) out = out.split(secretText).join("[secret]");
    for (const spelling of [JSON.stringify(secretText).slice(1, -1), encodeURIComponent(secretText)]) {
      if (spelling !== secretText && spelling.length <= out.length && out.includes(spelling)) out = out.split(spelling).join("[secret]");
    }
  }
  return out;
}
