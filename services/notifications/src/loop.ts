/**
 * Runs `work` again and again: at once while it reports work done (> 0), else after
 * `intervalMs`, or sooner when `waitAtMost` (asked after each pass) names an earlier time work is
 * due. Errors are logged and waited out. wake() starts the next pass now if the loop is waiting
 * (else the pass after the current one follows at once). stop() waits for the pass in progress.
 */
export function startLoop(
  name: string,
  work: () => Promise<number | void>,
  intervalMs: number,
  log: { error(obj: object, msg?: string): void },
  opts: { waitAtMost?: () => number | null } = {},
): { wake(): void; stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let woken = false;
  const tick = () => {
    timer = null;
    woken = false;
    running = (async () => {
      let delay = intervalMs;
      try {
        const done = await work();
        if (typeof done === 'number' && done > 0) delay = 0;
        const due = opts.waitAtMost?.();
        if (due != null) delay = Math.min(delay, Math.max(0, due));
      } catch (err) {
        log.error({ loop: name, error: (err as Error).message }, 'background pass failed');
      }
      if (!stopped) timer = setTimeout(tick, woken ? 0 : delay);
    })();
  };
  timer = setTimeout(tick, 0);
  return {
    wake() {
      woken = true;
      if (timer && !stopped) {
        clearTimeout(timer);
        timer = setTimeout(tick, 0);
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
