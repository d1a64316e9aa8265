import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const localNode = path.join(ROOT, 'node_modules/.bin/node');
const NODE = existsSync(localNode) ? localNode : process.execPath;
const STOP_GRACE_MS = 5_000;

const everyChild = new Set<ChildProcess>();
// Whatever way the bench ends, no service process outlives it.
process.once('exit', () => {
  for (const child of everyChild) child.kill('SIGKILL');
});

interface Running {
  name: string;
  child: ChildProcess;
  log: string;
  /** Bytes of the log before mark(): start-up chatter is not counted. */
  from: number;
}

/**
 * Relais processes started by a benchmark, each `node --import tsx <entry>` with its output in
 * .cache/logs/bench/<run>/<name>.log. `crashed` rejects when one exits before stopAll().
 */
export class Children {
  private readonly running: Running[] = [];
  private stopping = false;
  private crash!: (err: Error) => void;
  readonly crashed: Promise<never> = new Promise((_, reject) => (this.crash = reject));
  readonly logDir: string;

  constructor(run: string, signal: AbortSignal) {
    this.logDir = path.join(ROOT, '.cache/logs/bench', run);
    mkdirSync(this.logDir, { recursive: true });
    this.crashed.catch(() => {});
    signal.addEventListener('abort', () => void this.stopAll(), { once: true });
  }

  start(name: string, entry: string, env: NodeJS.ProcessEnv): void {
    const log = path.join(this.logDir, `${name}.log`);
    const fd = openSync(log, 'w');
    try {
      // RELAIS_PARENT_PID: a bench killed outright takes its services with it.
      const child = spawn(NODE, ['--import', 'tsx', entry], { cwd: ROOT, env: { ...env, RELAIS_PARENT_PID: String(process.pid) }, stdio: ['ignore', fd, fd] });
      everyChild.add(child);
      this.running.push({ name, child, log, from: 0 });
      child.once('exit', (code, signal) => {
        everyChild.delete(child);
        if (!this.stopping) this.crash(new Error(`${name} exited (${signal ?? `code ${code}`}) during the bench:\n${this.tail(log)}`));
      });
      child.once('error', (err) => this.crash(new Error(`cannot start ${name}: ${err.message}`)));
    } finally {
      closeSync(fd);
    }
  }

  tail(log: string, lines = 15): string {
    try {
      return readFileSync(log, 'utf8')
        .trimEnd()
        .split('\n')
        .slice(-lines)
        .map((l) => `  ${l}`)
        .join('\n');
    } catch {
      return '  (no log)';
    }
  }

  /** Pid -> process name, for the CPU report. */
  pids(): Map<number, string> {
    return new Map(this.running.filter((r) => r.child.pid !== undefined).map((r) => [r.child.pid!, r.name]));
  }

  /** From now on, logLines() counts only what is written after this call. */
  mark(): void {
    for (const r of this.running) {
      try {
        r.from = statSync(r.log).size;
      } catch {
        r.from = 0;
      }
    }
  }

  /** Log lines the services wrote since mark() (LOG_LEVEL=warn: each one is worth a look). */
  logLines(): { name: string; lines: number; log: string }[] {
    return this.running.map(({ name, log, from }) => {
      let text = '';
      try {
        text = readFileSync(log).subarray(from).toString('utf8').trim();
      } catch {
        // no log
      }
      return { name, lines: text ? text.split('\n').length : 0, log };
    });
  }

  /** Drops the logs of a run that went well and logged nothing worth keeping. */
  discardLogs(): void {
    rmSync(this.logDir, { recursive: true, force: true });
  }

  /** SIGTERM (the services stop gracefully), SIGKILL after a grace delay. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.running.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/**
 * The environment of a benchmark's Relais processes: its database, NATS and namespace, the gateway
 * on `port`, quiet logs, no metrics, and `more`. Each process names itself: one NODE_ID for all
 * would collide.
 */
export function stackEnv(ctx: BenchContext, namespace: string, port: number, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGO_URL: ctx.mongoUrl,
    NATS_URL: ctx.natsUrl,
    RELAIS_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
    GATEWAY_PORT: String(port),
    METRICS_PORT: '0',
    ...more,
  };
  delete env.NODE_ID;
  return env;
}
