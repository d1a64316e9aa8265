'use strict';
// Mocha's spec output, plus the run's counts written to $RELAIS_MOCHA_STATS so that
// scripts/test.ts can print the closing "N passed, N failed" line after its clean-up.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- mocha loads its reporter as CommonJS
const fs = require('node:fs');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- mocha loads its reporter as CommonJS
const mochaModule = require('mocha');

const Mocha = mochaModule.default ?? mochaModule;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class RelaisReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.RELAIS_MOCHA_STATS;
      if (!file) return;
      const { passes, failures, pending, tests } = this.stats;
      fs.writeFileSync(file, JSON.stringify({ passes, failures, pending, tests }));
    });
  }
}

module.exports = RelaisReporter;
