import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import { describe, expect, it } from 'vitest';
import { type MigrationInput, parseMigrationInput } from '../../lambdas/migration/input.js';
import { migrationInputModelSchema } from '../../lambdas/migration/input-json-schema.js';

/**
 * The console examples: each one is accepted by preflight's input definition and by the API's
 * request model (JSON Schema draft 4, as API Gateway validates), is listed in examples/README.md,
 * and means what its name says.
 */
const DIR = fileURLToPath(new URL('../../examples/', import.meta.url));
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const read = (file: string): unknown => JSON.parse(readFileSync(`${DIR}${file}`, 'utf8'));
// A CommonJS module whose export is the class and also its `default`.
const Ajv = ajvDraft04.default;
const validateModel = new Ajv({ allErrors: true }).compile(migrationInputModelSchema());

/** What each example is for, as the input says it. */
const MEANS: Record<string, (input: MigrationInput) => void> = {
  'dry-run.json': (i) => expect(i.dryRun).toBe(true),
  'standard-with-dns.json': (i) => {
    expect(i.dnsRecords).toHaveLength(1);
    expect(i.dryRun).toBe(false);
    expect(i.deleteSource).toBe(true);
    expect(i.approvals).toEqual({ beforeSnapshot: false, beforeCutover: false, beforeDeleteSource: false });
  },
  'with-approvals.json': (i) =>
    expect(i.approvals).toEqual({ beforeSnapshot: true, beforeCutover: true, beforeDeleteSource: true }),
  'keep-source.json': (i) => {
    expect(i.deleteSource).toBe(false);
    expect(i.keepIntermediateSnapshot).toBe(true);
  },
  'live-cutover-change-tracking.json': (i) => {
    expect(i.cutover.changeTracking).toBe(true);
    expect(i.cutover.pauseWrites).toBe(true);
    expect(i.verification.mode).toBe('full');
  },
  'cluster-mode.json': (i) => expect(i.dnsRecords[0]?.endpoint).toBe('configuration'),
  'tls-auth.json': (i) => {
    expect(i.authTokenSecretArn).toMatch(/^arn:aws:secretsmanager:/);
    expect(i.transitEncryption).toBe('required');
  },
  'snapshot-only.json': (i) => {
    expect(i.verification.mode).toBe('off');
    expect(i.approvals.beforeSnapshot).toBe(true);
  },
};

describe('examples/', () => {
  it('has one described case per file, and a file per described case', () => {
    expect(files).toEqual(Object.keys(MEANS).sort());
    const readme = readFileSync(`${DIR}README.md`, 'utf8');
    const listed = [...readme.matchAll(/^\| `([\w-]+\.json)`/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(files);
  });

  it.each(files)('%s is a valid input that means what its name says', (file) => {
    const input = read(file);
    expect(validateModel(input), JSON.stringify(validateModel.errors)).toBe(true);
    const parsed = parseMigrationInput(input);
    MEANS[file]?.(parsed);
  });

  it('the request model refuses what preflight refuses, field by field', () => {
    const bad = {
      sourceReplicationGroupId: '1orders',
      dnsRecords: [{ hostedZoneId: 'Z1', recordName: 'x', endpoint: 'writer' }],
      cutover: { freezeBudgetSeconds: 0 },
      extra: 1,
    };
    expect(validateModel(bad)).toBe(false);
    const paths = (validateModel.errors ?? []).map(
      (e: { instancePath: string; params: { additionalProperty?: string } }) =>
        e.instancePath || e.params.additionalProperty,
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        '/sourceReplicationGroupId',
        '/dnsRecords/0/endpoint',
        '/cutover/freezeBudgetSeconds',
        'extra',
      ]),
    );
    expect(() => parseMigrationInput(bad)).toThrow(/sourceReplicationGroupId/);
  });
});
