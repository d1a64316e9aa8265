import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * CPU time per process group over a phase, from /proc (Linux; elsewhere the report is empty).
 * On a 2-core machine shared by the services, FerretDB, PostgreSQL and NATS, this tells which
 * of them a phase was waiting on. Other users' processes show up as "other".
 */
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Snapshot {
  at: number;
  ticks: Map<number, Proc>;
  machine: { busy: number; total: number } | null;
}

interface Proc {
  comm: string;
  /** Start time since boot: tells a reused pid from the same process (comm changes with the process title). */
  start: string;
  ticks: number;
}

function readProcs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields after it start at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // Fields 14, 15 (utime, stime) and 22 (starttime) of proc(5); `fields` starts at field 3.
      out.set(Number(pid), { comm, start: fields[19], ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function readMachine(): { busy: number; total: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - cpu[4], total };
  } catch {
    return null;
  }
}

export function cpuSnapshot(): Snapshot {
  return { at: performance.now(), ticks: readProcs(), machine: readMachine() };
}

/** "gateway 85%, mail 40%, ..., machine busy 97% of 2 cores": percent of one core over the phase. */
export function cpuReport(from: Snapshot, named: Map<number, string>): string {
  const to = cpuSnapshot();
  const seconds = (to.at - from.at) / 1000;
  if (to.ticks.size === 0 || seconds <= 0) return '';
  const groups = new Map<string, number>();
  for (const [pid, now] of to.ticks) {
    const before = from.ticks.get(pid);
    const used = now.ticks - (before && before.start === now.start ? before.ticks : 0);
    if (used <= 0) continue;
    const group =
      pid === process.pid
        ? 'bench'
        : (named.get(pid) ?? (/^postgres/.test(now.comm) ? 'postgres' : /^(ferretdb|nats-server)$/.test(now.comm) ? now.comm : 'other'));
    groups.set(group, (groups.get(group) ?? 0) + used);
  }
  const parts = [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([g, t]) => `${g} ${Math.round((t / TICKS_PER_SECOND / seconds) * 100)}%`);
  if (from.machine && to.machine) {
    const busy = (to.machine.busy - from.machine.busy) / Math.max(1, to.machine.total - from.machine.total);
    parts.push(`machine busy ${Math.round(busy * 100)}% of ${os.cpus().length} cores`);
  }
  return parts.join(', ');
}
