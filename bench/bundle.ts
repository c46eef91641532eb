/**
 * Prints the size of each step function's bundle, built exactly as `cdk synth` builds it (the same
 * MigratorFunction construct, local esbuild, no Docker). Fails when a bundle reaches the budget.
 *
 *   npm run bench:bundle
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App, Stack } from 'aws-cdk-lib';
import { MigratorFunction } from '../infra/lib/constructs/migrator-function.js';
import { REPOSITORY_SOURCES } from '../infra/lib/migrator-stack.js';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName } from '../statemachine/manifest.js';

const BUDGET_BYTES = 1024 * 1024;

const outdir = mkdtempSync(join(tmpdir(), 'migrator-bundles-'));
const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new Stack(app, 'BundleBench', { env: { account: '123456789012', region: 'eu-west-1' } });

const built: Array<{ step: FunctionName; fn: MigratorFunction }> = [];
const missing: string[] = [];
for (const step of FUNCTION_NAMES) {
  const entry = join(REPOSITORY_SOURCES.handlersDir, `${FUNCTIONS[step].handler}.ts`);
  if (!existsSync(entry)) {
    missing.push(`${FUNCTIONS[step].handler}.ts`);
    continue;
  }
  built.push({ step, fn: new MigratorFunction(stack, step, { entry, description: step }) });
}

const started = Date.now();
app.synth();
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const rows: string[][] = [['step', 'handler', 'bundle', 'gzip', 'source map', 'status']];
let overBudget = 0;
for (const { step, fn } of built) {
  const resource = fn.function.node.defaultChild as unknown as {
    cfnOptions: { metadata?: Record<string, string> };
  };
  const assetPath = resource.cfnOptions.metadata?.['aws:asset:path'];
  if (assetPath === undefined) throw new Error(`No asset metadata on ${step}`);
  const dir = join(outdir, assetPath);
  const files = readdirSync(dir);
  const code = files.filter((file) => /\.m?js$/.test(file));
  const maps = files.filter((file) => file.endsWith('.map'));
  const codeBytes = code.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
  const gzipBytes = code.reduce((sum, file) => sum + gzipSync(readFileSync(join(dir, file))).length, 0);
  const mapBytes = maps.reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
  const ok = codeBytes < BUDGET_BYTES;
  if (!ok) overBudget += 1;
  rows.push([
    step,
    `${FUNCTIONS[step].handler}.ts`,
    kib(codeBytes),
    kib(gzipBytes),
    kib(mapBytes),
    ok ? 'ok' : 'OVER 1 MiB',
  ]);
}

const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
for (const row of rows) {
  console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
}
console.log(`\nBundled ${built.length} functions in ${seconds} s (esbuild, ESM, minified, node22, arm64).`);
if (missing.length > 0) console.log(`Not built (handler file missing): ${missing.join(', ')}`);
rmSync(outdir, { recursive: true, force: true });
if (overBudget > 0) {
  console.error(`${overBudget} bundle(s) at or over the 1 MiB budget.`);
  process.exit(1);
}
