// `npm start` run the way a user runs it, for tests of what the README promises: the real
// launcher, its own state directory and port, and a namespace under the test run's prefix so
// scripts/test.ts removes its databases and streams afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, uniqueNamespace } from '@relais/testing';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const READY_WITHIN_MS = 120_000;
// Enough to tell why a start failed without flooding the test report.
const TAIL_LINES = 60;
const OUTPUT_CAP = 4 * 1024 * 1024;

/** A process as /proc shows it: its start time tells it apart from a later process that reuses its pid. */
export interface Proc {
  pid: number;
  ppid: number;
  startTime: string;
  state: string;
  command: string;
}

function readProc(pid: number): Proc | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses: fields follow the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  let command = stat.slice(stat.indexOf('(') + 1, close);
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || command;
  } catch {
    // gone meanwhile: the short name will do
  }
  // fields[0] is field 3 of stat(5): state; then ppid; starttime is field 22.
  return { pid, state: fields[0], ppid: Number(fields[1]), startTime: fields[19], command };
}

/** Every process below `pid` (children, their children...), from the ppid fields of /proc. */
export function descendants(pid: number): Proc[] {
  const all: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProc(Number(entry));
    if (p) all.push(p);
  }
  const found: Proc[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const p of all) {
      if (p.ppid === parent && !found.some((f) => f.pid === p.pid)) {
        found.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return found;
}

/** Still running: the same process (same start time) exists and has not exited (a zombie has). */
export function alive(p: Proc): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== 'Z';
}

export interface Stack {
  pid: number;
  /** The gateway's URL from the banner's `Relais is up:` line. */
  url: string;
  stateDir: string;
  namespace: string;
  /** The variables of <state>/demo-tokens.env. */
  tokens: Record<string, string>;
  /** Everything npm start printed so far, stdout and stderr interleaved. */
  output(): string;
  /** The npm process, and every process it started as seen at start-up and at each call. */
  processes(): Proc[];
  /** SIGTERM to the npm process, waiting for it to exit (at most `ms`); then kill(). */
  stop(ms?: number): Promise<void>;
  /** SIGKILL to every process of the stack still running; returns those it had to kill. */
  kill(): Proc[];
}

function tail(text: string, lines = TAIL_LINES): string {
  return text.split('\n').slice(-lines).join('\n');
}

function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2]!;
  }
  return vars;
}

export async function startStack(): Promise<Stack> {
  // Database names are `<namespace>_<service>` and the namespace holds at most 31 characters.
  const namespace = uniqueNamespace();
  if (!process.env.RELAIS_TEST_PREFIX || !/^[a-z][a-z0-9_]{0,30}$/.test(namespace)) {
    throw new Error(`run this through scripts/test.ts (npm test), which sets RELAIS_TEST_PREFIX; namespace "${namespace}" is not usable`);
  }
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'relais-state-'));
  const child: ChildProcess = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: { ...process.env, RELAIS_NAMESPACE: namespace, GATEWAY_PORT: String(port), RELAIS_STATE_DIR: stateDir, LOG_FORMAT: 'json' },
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    // A stack left running for long must not grow the test's memory without bound.
    if (output.length > OUTPUT_CAP) output = output.slice(-OUTPUT_CAP / 2);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exit = `spawn error: ${err.message}`;
      resolve();
    });
  });

  const known = new Map<number, Proc>();
  const self = child.pid !== undefined ? readProc(child.pid) : undefined;
  if (self) known.set(self.pid, self);
  const remember = () => {
    if (child.pid === undefined) return;
    for (const p of descendants(child.pid)) if (!known.has(p.pid)) known.set(p.pid, p);
  };
  const kill = () => {
    remember();
    const killed = [...known.values()].filter(alive);
    for (const p of killed) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    return killed;
  };
  let stopped: Promise<void> | undefined;
  const stop = (ms = 15_000) =>
    (stopped ??= (async () => {
      remember();
      if (exit === undefined) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, ms))]);
      kill();
      rmSync(stateDir, { recursive: true, force: true });
    })());

  const tokensFile = path.join(stateDir, 'demo-tokens.env');
  const deadline = Date.now() + READY_WITHIN_MS;
  let url: string | undefined;
  while (!(url && existsSync(tokensFile))) {
    if (exit !== undefined || Date.now() > deadline) {
      const why = exit !== undefined ? `exited (${exit})` : `was not up within ${READY_WITHIN_MS / 1000} s`;
      await stop(5_000);
      throw new Error(`npm start ${why} before writing ${tokensFile} and "Relais is up"; its last lines:\n${tail(output)}`);
    }
    url ??= /^Relais is up: (\S+)/m.exec(output)?.[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  remember();
  return {
    pid: child.pid!,
    url,
    stateDir,
    namespace,
    tokens: parseEnvFile(readFileSync(tokensFile, 'utf8')),
    output: () => output,
    processes: () => {
      remember();
      return [...known.values()];
    },
    stop,
    kill,
  };
}
