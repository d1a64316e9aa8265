/** The time the scheduler and sender work with; tests and rehearsals move it. Never the org's zone: that is luxon's job. */
export interface Clock {
  now(): Date;
}

/** The system clock, optionally shifted (CLOCK_OFFSET_MS) to rehearse a slot without waiting for it. */
export const systemClock = (offsetMs = 0): Clock => ({ now: () => new Date(Date.now() + offsetMs) });
