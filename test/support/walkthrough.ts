// The README's walkthrough as a script: the ```sh blocks marked `<!-- walkthrough -->`, in order,
// each command followed by `# ->` lines that say what it answers. The script is run as written,
// with markers around each command so that every answer is checked against the README line that
// promises it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const MARKER = '<!-- walkthrough -->';
export const EXPECT = '# ->';
/** In an expectation, `...` stands for anything: `"a":1 ... "b":2` means both, in this order. */
const ANYTHING = '...';

export interface Step {
  /** README line of the command's first line (1-based). */
  line: number;
  command: string;
  expectations: { line: number; text: string }[];
  /** `name=$(...)` or `name=value`: the variable must end up set to something other than "" or "null". */
  captures?: string;
}

/** The marked blocks' commands, in order. Backslash-continued lines make one command. */
export function parseWalkthrough(markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  let blocks = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== MARKER) continue;
    const fence = lines[i + 1]?.trim();
    if (fence !== '```sh' && fence !== '```bash') throw new Error(`README.md:${i + 1}: ${MARKER} must be followed by a \`\`\`sh block`);
    blocks++;
    let continued: Step | undefined;
    for (i += 2; i < lines.length && lines[i].trim() !== '```'; i++) {
      const text = lines[i];
      const line = i + 1;
      const trimmed = text.trim();
      if (continued) {
        continued.command += `\n${text}`;
        if (!text.endsWith('\\')) continued = undefined;
      } else if (trimmed.startsWith(EXPECT)) {
        const step = steps.at(-1);
        if (!step) throw new Error(`README.md:${line}: "${EXPECT}" before any command`);
        step.expectations.push({ line, text: trimmed.slice(EXPECT.length).trim() });
      } else if (trimmed === '' || trimmed.startsWith('#')) {
        continue;
      } else {
        const step: Step = { line, command: text, expectations: [] };
        const assigned = /^([A-Za-z_][A-Za-z0-9_]*)=(\$\(.*\)|\S*)$/.exec(trimmed);
        if (assigned) step.captures = assigned[1];
        steps.push(step);
        if (text.endsWith('\\')) continued = step;
      }
    }
    if (i >= lines.length) throw new Error('README.md: a walkthrough block is not closed with ```');
  }
  if (blocks === 0) throw new Error(`README.md has no block marked ${MARKER}`);
  return steps;
}

export type Shell = 'bash' | 'zsh';

const HEADERS: Record<Shell, string> = {
  bash: 'set -euo pipefail',
  zsh: 'setopt errexit nounset pipefail',
};

/** One script: the shell's strict options, then each command between two marker lines. */
export function buildScript(steps: Step[], shell: Shell, nonce: string): string {
  const out = [HEADERS[shell], 'exec 2>&1'];
  steps.forEach((step, i) => {
    // The leading \n puts a marker on its own line even after an answer without a final newline.
    out.push(`printf '\\n%s begin %d\\n' ${nonce} ${i}`);
    out.push(step.command);
    out.push(step.captures ? `printf '\\n%s end %d %s\\n' ${nonce} ${i} "$${step.captures}"` : `printf '\\n%s end %d\\n' ${nonce} ${i}`);
  });
  return `${out.join('\n')}\n`;
}

export interface Outcome {
  code: number | null;
  output: string;
}

/** Runs `<shell> -e <file>` in `cwd`; stdout and stderr are one stream (the script starts with exec 2>&1). */
export function runScript(shell: Shell, file: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell, ['-e', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n(killed after ${timeoutMs / 1000} s)\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const indent = (text: string) =>
  text.trim() === ''
    ? '    (nothing)'
    : text
        .trim()
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n');

function describeStep(step: Step): string {
  return `README.md:${step.line}: ${step.command.replace(/\\\n\s*/g, ' ')}`;
}

/**
 * What went wrong, one message per problem: the step that failed (README line, command, its answer),
 * an expectation its answer does not meet, a capture left empty, or an answer no `# ->` line describes.
 */
export function check(steps: Step[], { code, output }: Outcome, nonce: string): string[] {
  const problems: string[] = [];
  const begin = (i: number) => output.indexOf(`\n${nonce} begin ${i}\n`);
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const start = begin(i);
    const endMark = `\n${nonce} end ${i}`;
    const end = start < 0 ? -1 : output.indexOf(endMark, start);
    if (start < 0 || end < 0) {
      const answer = start < 0 ? '' : output.slice(start + `\n${nonce} begin ${i}\n`.length);
      problems.push(`${describeStep(step)}\n  failed (exit code ${code}); it answered:\n${indent(answer)}`);
      break;
    }
    const answer = output.slice(start + `\n${nonce} begin ${i}\n`.length, end);
    if (step.captures) {
      const value = output.slice(end + endMark.length, output.indexOf('\n', end + endMark.length)).trim();
      if (value === '' || value === 'null') problems.push(`${describeStep(step)}\n  left $${step.captures} ${value === '' ? 'empty' : '"null"'}`);
    }
    for (const expectation of step.expectations) {
      const pieces = expectation.text
        .split(ANYTHING)
        .map((p) => p.trim())
        .filter(Boolean);
      let at = 0;
      const missing = pieces.find((piece) => {
        const found = answer.indexOf(piece, at);
        if (found < 0) return true;
        at = found + piece.length;
        return false;
      });
      if (pieces.length === 0 || missing !== undefined) {
        problems.push(
          `README.md:${expectation.line}: expected ${JSON.stringify(expectation.text)}${pieces.length > 1 ? ` (missing: ${JSON.stringify(missing)})` : ''}\n` +
            `  from ${describeStep(step)}\n  which answered:\n${indent(answer)}`,
        );
      }
    }
    if (step.expectations.length === 0 && answer.trim() !== '') {
      problems.push(`${describeStep(step)}\n  prints an answer that no "${EXPECT}" line describes:\n${indent(answer)}`);
    }
  }
  if (problems.length === 0 && code !== 0) problems.push(`the walkthrough exited with code ${code} after its last step:\n${indent(output)}`);
  return problems;
}

export const newNonce = () => `@@walkthrough-${randomBytes(6).toString('hex')}@@`;
