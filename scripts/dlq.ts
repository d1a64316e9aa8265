// `npm run dlq -- list [limit]` / `npm run dlq -- replay <seq> [<seq>...]`: the dead-letter stream for ops.
// Reads NATS_URL and RELAIS_NAMESPACE like the services do.
import { z } from 'zod';
import { DurableEvents, loadConfig } from '@relais/shared';

const config = loadConfig(
  z.object({
    NATS_URL: z.string().min(1),
    RELAIS_NAMESPACE: z.string().default('relais'),
  }),
);
const [command, ...args] = process.argv.slice(2);
const events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'dlq-cli' });
try {
  if (command === 'list') {
    const letters = await events.deadLetters(Number(args[0] ?? 100));
    if (letters.length === 0) console.log('no dead letters');
    for (const d of letters) {
      const env = d.envelope ? `${d.envelope.type} ${d.envelope.id} org ${d.envelope.orgId}` : '(malformed)';
      console.log(`#${d.seq}  ${d.failedAt}  ${d.group}  ${env}  after ${d.deliveries} deliveries: ${d.error}`);
    }
  } else if (command === 'replay' && args.length > 0) {
    for (const seq of args.map(Number)) {
      await events.replay(seq);
      console.log(`#${seq} replayed`);
    }
  } else {
    console.error('usage: npm run dlq -- list [limit] | replay <seq> [<seq>...]');
    process.exitCode = 2;
  }
} finally {
  await events.close();
}
