/**
 * Runs `work` again and again: at once while it reports work done (> 0), else after
 * `intervalMs`. Errors are logged and waited out. stop() waits for the pass in progress.
 */
export function startLoop(
  name: string,
  work: () => Promise<number | void>,
  intervalMs: number,
  log: { error(obj: object, msg?: string): void },
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const tick = () => {
    timer = null;
    running = (async () => {
      let delay = intervalMs;
      try {
        const done = await work();
        if (typeof done === 'number' && done > 0) delay = 0;
      } catch (err) {
        log.error({ loop: name, error: (err as Error).message }, 'background pass failed');
      }
      if (!stopped) timer = setTimeout(tick, delay);
    })();
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
