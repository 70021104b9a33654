/**
 * Just enough of a Dockerfile reader for test/unit/dockerfile.test.ts (there is no Docker engine here): line
 * continuations joined, comments and parser directives dropped, instructions grouped into stages. Plus a
 * .dockerignore matcher for the patterns this repository uses (names, `*` globs, `!` exceptions; last match wins).
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!pending && /^\s*(#|$)/.test(line)) return;
    if (pending && /^\s*#/.test(line)) return; // comments inside a continued instruction are dropped by Docker too
    if (!pending) startLine = i + 1;
    const continued = line.endsWith('\\');
    pending += (pending ? ' ' : '') + (continued ? line.slice(0, -1) : line).trim();
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(pending)!;
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]!, line: startLine };
    pending = '';
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)!;
      stages.push({ base: from[1]!, name: from[2] ?? String(stages.length), instructions: [] });
      return;
    }
    if (stages.length === 0) throw new Error(`line ${instruction.line}: ${instruction.keyword} before any FROM`);
    stages[stages.length - 1]!.instructions.push(instruction);
  });
  if (pending) throw new Error('Dockerfile ends inside a continued line');
  return stages;
}

/** The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** COPY/ADD arguments: flags (--from=…, --chown=…), sources, destination. */
export function copyArgs(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = execForm(args) ?? args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [k, v = ''] = words.shift()!.slice(2).split('=');
    flags[k!] = v;
  }
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { flags, sources: words, dest };
}

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
  return new RegExp(`^${body}$`);
}

/** Whether .dockerignore keeps `relPath` out of the build context (a pattern also excludes what lies below it). */
export function dockerIgnored(relPath: string, dockerignore: string): boolean {
  const parts = relPath.replace(/^\.\//, '').replace(/\/+$/, '').split('/');
  let ignored = false;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const re = globToRegExp((negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, ''));
    const matches = parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
    if (matches) ignored = !negated;
  }
  return ignored;
}
