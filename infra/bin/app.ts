import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfigFile } from '../config/schema.js';
import { MigratorStack } from '../lib/migrator-stack.js';
import { applyNagPacks } from '../lib/nag.js';

/**
 * The CDK app. The configuration file comes from the `config` context value
 * (`npx cdk synth -c config=path/to/config.json`), else from `AT_REST_MIGRATOR_CONFIG`, else the
 * example, so that `npm run synth` works on a fresh clone without credentials.
 */
const app = new App();
const configPath = resolve(
  (app.node.tryGetContext('config') as string | undefined) ??
    process.env.AT_REST_MIGRATOR_CONFIG ??
    'infra/config.example.json',
);

try {
  const config = loadConfigFile(configPath);
  new MigratorStack(app, 'Migrator', { config, stackName: config.stackName, tags: config.tags });
  applyNagPacks(app);
  app.synth();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
