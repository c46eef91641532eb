/**
 * The definition and bundles as `cdk synth` deploys them, with the real handlers and the real ASL
 * file: the state machine that runs in the test is the one CloudFormation receives, so the two
 * cannot drift apart.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import aslValidator from 'asl-validator';
import { App, Stack } from 'aws-cdk-lib';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MigratorFunction } from '../../infra/lib/constructs/migrator-function.js';
import { REPOSITORY_SOURCES } from '../../infra/lib/migrator-stack.js';
import { loadFixtureFile, startSandbox } from '../../sandbox/index.js';
import {
  configureLocalEnvironment,
  loadHandlers,
  localFunctionArn,
  runMigration,
} from '../../sandbox/workflow.js';
import { FUNCTION_NAMES, FUNCTIONS, placeholdersIn, substitute } from '../../statemachine/manifest.js';
import { logicalIdOf, synthesize } from './support.js';

const deployed = synthesize({ sources: REPOSITORY_SOURCES });
const { stack, template } = deployed;
const machine =
  template.toJSON().Resources[logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.stateMachine)];
const definitionString = machine.Properties.DefinitionString as string;
const deployedSubstitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;

/** The local function ARN of the step whose function a substitution value points at. */
function localArnOf(value: unknown): string {
  const step = FUNCTION_NAMES.find(
    (name) =>
      JSON.stringify(value) ===
      JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, stack.functions[name].function), 'Arn'] }),
  );
  if (step === undefined)
    throw new Error(`Substitution value ${JSON.stringify(value)} is not a step function ARN`);
  return localFunctionArn(FUNCTIONS[step].handler);
}

/** The deployed definition with its substitutions resolved to the local function ARNs. */
const localSubstitutions = Object.fromEntries(
  Object.entries(deployedSubstitutions).map(([name, value]) => [name, localArnOf(value)]),
);
const resolvedDefinition = substitute(
  definitionString,
  localSubstitutions,
  'migrate-replication-group.asl.json',
);

describe('the deployed migration definition', () => {
  it('is the ASL file verbatim, with every placeholder given a step function', () => {
    expect(Object.keys(deployedSubstitutions).sort()).toEqual(placeholdersIn(definitionString).sort());
    expect(placeholdersIn(resolvedDefinition)).toEqual([]);
  });

  it('validates as Amazon States Language once substituted', () => {
    const result = aslValidator(JSON.parse(resolvedDefinition), { checkArn: true, checkPaths: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('ends with the error the rollback-failed alarm counts when a rollback fails', () => {
    expect(definitionString).toContain('"Error": "RollbackFailedError"');
  });

  it('runs one migration on the local engine against the sandbox, catch-up and write freeze included', async () => {
    // Real redis-server nodes and DNS, so every state of the deployed definition runs for real.
    const sandbox = await startSandbox({
      fixture: loadFixtureFile('sandbox/fixtures/example.yaml'),
      dataPlane: 'redis',
      timeScale: 0.0005,
    });
    try {
      configureLocalEnvironment(sandbox, { DNS_SERVERS: sandbox.dnsServer!, VERIFY_TIME_BUDGET_MS: '5000' });
      const primary = sandbox.elasticache.groups.get('orders-cache')!.shards[0]!.members[0]!.address!;
      const writer = new Redis(primary);
      await writer.mset('order:1', 'paid', 'order:2', 'shipped');
      await writer.quit();
      const result = await runMigration({
        definition: resolvedDefinition,
        functions: await loadHandlers(),
        input: { sourceReplicationGroupId: 'orders-cache', writesFrozen: true },
        executionName: 'deployed-definition-test',
        waitMs: 10,
        retryMs: 10,
      });
      expect(result.error, result.cause).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toMatchObject({
        cutover: { method: 'pause', dataPolicy: 'exact', catchUpPasses: 1 },
        source: { deleted: true },
      });
    } finally {
      await sandbox.stop();
    }
  });
});

describe('the deployed bundles', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'migrator-bundle-test-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('are ESM files that load on Node and export the handler, for every step', async () => {
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const bundleStack = new Stack(app, 'Bundles', { env: { account: '123456789012', region: 'eu-west-1' } });
    const functions = FUNCTION_NAMES.map(
      (step) =>
        [
          step,
          new MigratorFunction(bundleStack, step, {
            entry: join(REPOSITORY_SOURCES.handlersDir, `${FUNCTIONS[step].handler}.ts`),
            description: step,
          }),
        ] as const,
    );
    app.synth();
    // The handlers read their configuration at load and fail fast without it, as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      APPROVAL_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:approvals',
      DEFAULT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
      ALLOWED_HOSTED_ZONE_IDS: 'Z0123456789ABCDEFGHIJ',
    });
    for (const [step, fn] of functions) {
      const metadata = (
        fn.function.node.defaultChild as unknown as { cfnOptions: { metadata: Record<string, string> } }
      ).cfnOptions.metadata;
      const dir = join(outdir, metadata['aws:asset:path'] ?? '');
      expect(readdirSync(dir).sort(), step).toEqual(['index.mjs', 'index.mjs.map']);
      const module = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
      expect(typeof module.handler, step).toBe('function');
    }
    // esbuild bundles every function of the manifest: minutes on a loaded 2-core machine.
  }, 300_000);
});
