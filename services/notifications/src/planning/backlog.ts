import type { DurableEvents, EventType } from '@relais/shared';

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * Waits until this service's consumers have handled every event stored when it is asked, so that a
 * slot or reminder that comes due (or is caught up after an outage) is decided on every event that
 * came before it, such as the mail registered while the service was down, waiting in JetStream.
 * Polls the consumers every `pollMs` (wall clock), for `maxWaitMs` at most: then false, and the due
 * slots wait for the next scheduler pass rather than hold up the loop.
 */
export async function waitForEvents(
  events: Pick<DurableEvents, 'lastSequence' | 'backlogCleared'>,
  group: string,
  types: readonly EventType[],
  opts: { maxWaitMs: number; pollMs: number },
  log: Logger,
): Promise<boolean> {
  const seq = await events.lastSequence();
  const started = Date.now();
  for (let polls = 0; ; polls++) {
    if (await events.backlogCleared(group, types, seq)) {
      if (polls > 0) log.info({ seq, waitedMs: Date.now() - started }, 'event backlog applied: due slots go ahead');
      return true;
    }
    if (polls === 0) log.info({ seq }, 'due slots wait for the event backlog to be applied');
    if (Date.now() - started >= opts.maxWaitMs) {
      log.warn({ seq, waitedMs: Date.now() - started }, 'event backlog still not applied: due slots wait for the next pass');
      return false;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}
