/**
 * The fenced shell blocks of a Markdown page, each with the line it starts on and, when the page says
 * so just before it, why it is not run (`<!-- not run here: reason -->`).
 */
export interface ShellBlock {
  line: number;
  code: string;
  skip?: string;
}

export function shellBlocks(text: string): ShellBlock[] {
  const found: ShellBlock[] = [];
  for (const m of text.matchAll(/```(?:sh|bash|shell|console)\n([\s\S]*?)```/g)) {
    const before = text.slice(Math.max(0, m.index! - 600), m.index);
    const marker = /<!-- not run here: ((?:(?!-->)[\s\S])*) -->\s*$/.exec(before);
    found.push({ line: text.slice(0, m.index).split("\n").length, code: m[1], ...(marker ? { skip: marker[1] } : {}) });
  }
  return found;
}

/** A block's commands: comment lines dropped, backslash continuations joined. */
export function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"));
}

/** The line the emulator recipe marks to run beside the rest ("in another terminal"). */
export const inAnotherTerminal = (line: string) => /in another terminal\s*$/.test(line);
