/**
 * A linear scan for JSON nesting depth, run before `JSON.parse`: deeply nested input is refused
 * with a 400 instead of reaching code that recurses over the parsed value (validation, logging)
 * and overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
