import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { baseConfigSchema, ConfigError, createLogger, loadConfig, logColors, logFormat, type LogFormat } from '../src';

/** A logger writing into a string, uncoloured, as a pipe would receive it. */
function capture(format: LogFormat) {
  let text = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  const logger = createLogger('gateway', 'info', { format, destination, colorize: false });
  // pino-pretty runs through a stream pipeline: read once pending callbacks have run.
  const output = async () => {
    await new Promise((r) => setImmediate(r));
    return text;
  };
  return { logger, output };
}

const secrets = {
  user: { phone: '+33612345678', email: 'marie@example.org', id: 'p1' },
  req: { headers: { authorization: 'Bearer rl_secret_token_value' } },
  params: { body: 'Votre courrier est arrivé' },
};
const secretValues = ['+33612345678', 'marie@example.org', 'rl_secret_token_value', 'Votre courrier'];

describe('log format', () => {
  it('is pretty at a terminal outside production, JSON in production and on a pipe', () => {
    expect(logFormat({}, true)).to.equal('pretty');
    expect(logFormat({ NODE_ENV: 'development' }, true)).to.equal('pretty');
    expect(logFormat({ NODE_ENV: 'production' }, true)).to.equal('json');
    expect(logFormat({}, false)).to.equal('json');
    expect(logFormat({ NODE_ENV: 'production' }, false)).to.equal('json');
  });

  it('follows an explicit LOG_FORMAT over the terminal check (a launcher piping its children)', () => {
    expect(logFormat({ LOG_FORMAT: 'pretty' }, false)).to.equal('pretty');
    expect(logFormat({ LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false)).to.equal('pretty');
    expect(logFormat({ LOG_FORMAT: 'json' }, true)).to.equal('json');
    expect(logFormat({ LOG_FORMAT: '' }, true)).to.equal('pretty');
  });

  it('is an optional setting that refuses unknown values by name', () => {
    const env = { NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1/x' };
    expect(loadConfig(baseConfigSchema, env).LOG_FORMAT).to.equal(undefined);
    expect(loadConfig(baseConfigSchema, { ...env, LOG_FORMAT: '' }).LOG_FORMAT).to.equal(undefined);
    expect(loadConfig(baseConfigSchema, { ...env, LOG_FORMAT: 'pretty' }).LOG_FORMAT).to.equal('pretty');
    expect(() => loadConfig(baseConfigSchema, { ...env, LOG_FORMAT: 'xml' })).to.throw(ConfigError, /LOG_FORMAT is invalid/);
  });

  it('colours only a terminal, unless NO_COLOR or FORCE_COLOR says otherwise', () => {
    expect(logColors({}, true)).to.equal(true);
    expect(logColors({}, false)).to.equal(false);
    expect(logColors({ NO_COLOR: '1' }, true)).to.equal(false);
    expect(logColors({ TERM: 'dumb' }, true)).to.equal(false);
    expect(logColors({ FORCE_COLOR: '1' }, false)).to.equal(true);
    expect(logColors({ FORCE_COLOR: '0' }, false)).to.equal(false);
  });
});

describe('loggers', () => {
  it('pretty: a simple message is one readable line (time, level, name, message), no JSON', async () => {
    const { logger, output } = capture('pretty');
    logger.info('listening on %s', 'http://127.0.0.1:3000');
    const text = await output();
    expect(text).to.match(/^\d\d:\d\d:\d\d INFO {2}gateway listening on http:\/\/127\.0\.0\.1:3000\n$/);
    expect(text).not.to.match(/[{}"]/);
  });

  it('pretty: strips terminal control characters from messages', async () => {
    const { logger, output } = capture('pretty');
    logger.warn('name \u001b[2Jcleared');
    expect(await output()).to.match(/WARN {2}gateway name \[2Jcleared\n$/);
  });

  it('json: one object a line, as before', async () => {
    const { logger, output } = capture('json');
    logger.info('listening');
    const line = JSON.parse(await output());
    expect(line).to.include({ level: 30, name: 'gateway', msg: 'listening' });
  });

  for (const format of ['json', 'pretty'] as const) {
    it(`${format}: redacts personal data and secrets`, async () => {
      const { logger, output } = capture(format);
      logger.info(secrets, 'delivery');
      const text = await output();
      expect(text).to.contain('delivery').and.contain('[redacted]').and.contain('p1');
      for (const secret of secretValues) expect(text).not.to.contain(secret);
    });
  }
});

describe('broker logger', function () {
  this.timeout(30_000);

  // A real process with stdout on a pipe: the broker's own logger, its format choice, and lines written
  // before process.exit returns.
  const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = `
    import { baseConfigSchema, createBroker, loadConfig } from ${JSON.stringify(index)};
    const config = loadConfig(baseConfigSchema, { ...process.env, NATS_URL: 'nats://127.0.0.1:1', MONGO_URL: 'mongodb://127.0.0.1/x' });
    const broker = createBroker({ config, name: 'logtest' });
    broker.getLogger('mail').warn(${JSON.stringify(secrets)}, 'delivery');
    process.exit(0);
  `;
  function run(env: Record<string, string>): string {
    const { FORCE_COLOR: _f, NO_COLOR: _n, LOG_FORMAT: _l, ...inherited } = process.env;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...inherited, LOG_LEVEL: 'warn', ...env },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).to.equal(0);
    return child.stdout;
  }

  it('writes pretty lines when LOG_FORMAT=pretty although stdout is a pipe, redacted', () => {
    const out = run({ LOG_FORMAT: 'pretty' });
    expect(out).to.match(/^\d\d:\d\d:\d\d WARN {2}mail delivery .*\n$/);
    expect(out).to.contain('[redacted]').and.not.contain('\u001b');
    for (const secret of secretValues) expect(out).not.to.contain(secret);
  });

  it('writes JSON on a pipe by default, redacted', () => {
    const line = JSON.parse(run({}));
    expect(line).to.include({ level: 40, mod: 'mail', msg: 'delivery' });
    expect(line.user).to.deep.equal({ phone: '[redacted]', email: '[redacted]', id: 'p1' });
    expect(line.params).to.equal('[redacted]');
  });
});
