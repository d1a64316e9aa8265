// docker-compose.yml read as data: no Docker engine is needed. The compose path of the README
// depends on it: every process runs its bundle, the seed prints the demo tokens, e-mail reaches Mailpit.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, expect } from 'chai';
import { parse } from 'yaml';
import { ENTRIES } from '../scripts/build';

const root = fileURLToPath(new URL('..', import.meta.url));
const composeFile = path.join(root, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  ports?: string[];
  healthcheck?: unknown;
}

// `merge: true` resolves the `<<: *app` keys the way compose does.
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const gateway = services.gateway;
// The Relais containers are those built from this repository's Dockerfile.
const relaisServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('runs a bundle that npm run build produces in every Relais container', () => {
    expect(relaisServices.map(([name]) => name)).to.include.members(['gateway', 'seed', 'contacts', 'notifications']);
    for (const [name, s] of relaisServices) {
      const [node, bundle] = s.command ?? [];
      expect(node, `${name}: command`).to.equal('node');
      expect(bundle, `${name}: command`).to.match(/^dist\/[a-z]+\.js$/);
      expect(Object.keys(ENTRIES), `${name}: ${bundle} is not built by scripts/build.ts`).to.include(path.basename(bundle, '.js'));
    }
  });

  it('runs each process under the name of its bundle', () => {
    for (const name of Object.keys(ENTRIES).filter((n) => n !== 'relais')) {
      expect(services[name]?.command, name).to.deep.equal(['node', `dist/${name}.js`]);
    }
  });

  it('has a one-shot seed that creates the demo org once the gateway is healthy', () => {
    const seed = services.seed;
    assert.exists(seed, 'seed service');
    expect(seed.command).to.deep.equal(['node', 'dist/relais.js', 'demo']);
    expect(seed.restart).to.equal('no');
    expect(seed.depends_on?.gateway?.condition).to.equal('service_healthy');
    assert.exists(gateway.healthcheck, 'the gateway needs a healthcheck for service_healthy');
  });

  it("gives the seed the gateway's database, NATS, namespace and platform token", () => {
    const seedEnv = services.seed.environment ?? {};
    const gatewayEnv = gateway.environment ?? {};
    for (const v of ['MONGO_URL', 'NATS_URL', 'RELAIS_NAMESPACE', 'RELAIS_PLATFORM_TOKEN']) {
      expect(gatewayEnv[v], `gateway ${v}`).to.be.a('string');
      expect(seedEnv[v], `seed ${v}`).to.equal(gatewayEnv[v]);
    }
    expect(gatewayEnv.RELAIS_PLATFORM_TOKEN).to.equal('${RELAIS_PLATFORM_TOKEN:-}');
    // NODE_ENV=development enables the demo seed.
    expect(seedEnv.NODE_ENV).to.equal('development');
  });

  it("takes replies to exchanges' e-mails on the exchanges container's SMTP listener", () => {
    const env = services.exchanges.environment ?? {};
    expect(env.INBOUND_SMTP_PORT).to.equal('2525');
    expect(env.INBOUND_SMTP_HOST).to.equal('0.0.0.0');
    expect(env.EXCHANGES_MAIL_DOMAIN).to.be.a('string');
    expect(services.exchanges.ports).to.include('2525:2525');
  });

  for (const name of ['notifications']) {
    it(`sends ${name}'s e-mail to the Mailpit container`, () => {
      const env = services[name].environment ?? {};
      expect(env.EMAIL_PROVIDER).to.equal('smtp');
      const smtp = new URL(env.SMTP_URL ?? '');
      expect(smtp.protocol).to.equal('smtp:');
      assert.exists(services[smtp.hostname], `SMTP_URL names the service ${smtp.hostname}`);
      expect(services[smtp.hostname].image).to.match(/^axllent\/mailpit/);
      expect(smtp.port).to.equal('1025');
      expect(env.EMAIL_FROM)
        .to.be.a('string')
        .and.match(/\S+@\S+/);
      expect(services[name].depends_on?.[smtp.hostname]?.condition).to.equal('service_healthy');
    });
  }

  it('sets DB_UPDATE_BATCH for MongoDB in every Relais container', () => {
    for (const [name, s] of relaisServices) {
      expect(s.environment?.DB_UPDATE_BATCH, name).to.equal('500');
    }
  });

  it('validates with docker compose config', function () {
    const compose = composeCommand();
    if (!compose) {
      console.log('      (skipped: neither `docker compose` nor `docker-compose` is installed)');
      this.skip();
    }
    const run = spawnSync(compose[0], [...compose.slice(1), '-f', composeFile, 'config', '-q'], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
  });
});

/** The compose command available here, v2 plugin first; undefined when there is none. */
function composeCommand(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(cmd[0], [...cmd.slice(1), 'version'], { stdio: 'ignore' });
    if (probe.status === 0) return cmd;
  }
  return undefined;
}
