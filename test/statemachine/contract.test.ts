import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import * as errors from '../../lambdas/shared/errors.js';
import {
  LAMBDA_SERVICE_ERROR_NAMES,
  MIGRATION_ERROR_NAMES,
  TRANSIENT_AWS_ERROR_NAMES,
} from '../../lambdas/shared/errors.js';
import { VERIFIER_ERROR_NAMES } from '../../lambdas/verifier/errors.js';
import { FLEET_FUNCTIONS } from '../../sandbox/workflow.js';
import { functionSubstitutions } from '../../statemachine/manifest.js';

const dir = fileURLToPath(new URL('../../statemachine/', import.meta.url));
const definitions = readdirSync(dir)
  .filter((f) => f.endsWith('.asl.json'))
  .map((file) => ({ file, asl: JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as Asl }));

interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: { action?: string } };
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Error?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  ItemProcessor?: { States: Record<string, AslState> };
}
interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
}

const STATES_ERRORS = ['States.ALL', 'States.TaskFailed', 'States.Timeout'];

/** Errors of the Step Functions service integration (`StepFunctions.` + the API's exception). */
const STEP_FUNCTIONS_ERRORS = [
  'StepFunctions.SdkClientException',
  'StepFunctions.AWSStepFunctionsException',
  'StepFunctions.ExecutionLimitExceededException',
  'StepFunctions.ThrottlingException',
];

/** Every state, those of a Map's item processor included (the fleet's per-group steps). */
function allStates(states: Record<string, AslState>): [string, AslState][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, AslState],
    ...(s.ItemProcessor ? allStates(s.ItemProcessor.States) : []),
  ]);
}

/** The verbs a Task's name may start with (Verb+Object: `CreateSnapshot`, `FlipRecords`). */
const TASK_VERBS = [
  'Admit',
  'Await',
  'CatchUp',
  'Check',
  'CleanUp',
  'Confirm',
  'Copy',
  'Create',
  'Delete',
  'Describe',
  'Discover',
  'Enable',
  'Flip',
  'Freeze',
  'List',
  'Lower',
  'Migrate',
  'Notify',
  'Publish',
  'Read',
  'Record',
  'Report',
  'Resolve',
  'Restore',
  'RollBack',
  'Run',
  'Send',
  'Set',
  'Start',
  'Summarize',
  'SyncBack',
  'Update',
  'Verify',
  'Write',
];

describe.each(definitions)('$file', ({ asl }) => {
  it('passes asl-validator', () => {
    const { isValid, errors: problems } = aslValidator(asl as never);
    expect(problems).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('matches only error names that the errors module, AWS or Step Functions define', () => {
    const known = new Set<string>([
      ...MIGRATION_ERROR_NAMES,
      ...TRANSIENT_AWS_ERROR_NAMES,
      ...LAMBDA_SERVICE_ERROR_NAMES,
      ...VERIFIER_ERROR_NAMES,
      ...STATES_ERRORS,
      ...STEP_FUNCTIONS_ERRORS,
    ]);
    const used = allStates(asl.States).flatMap(([, s]) => [
      ...(s.Retry ?? []).flatMap((r) => r.ErrorEquals),
      ...(s.Catch ?? []).flatMap((c) => c.ErrorEquals),
      ...(s.Error ? [s.Error] : []),
    ]);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
  });

  it('catches every error of every task, so no failure skips the rollback', () => {
    const tasks = allStates(asl.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(0);
    const uncaught = tasks.filter(
      ([, s]) => !(s.Catch ?? []).some((c) => c.ErrorEquals.includes('States.ALL')),
    );
    expect(uncaught.map(([name]) => name)).toEqual([]);
  });

  it('binds every task to a function of the deployment', () => {
    // The fleet batch's functions are deployed by its own construct (infra/lib/constructs/fleet-batch.ts).
    const names = [...Object.keys(functionSubstitutions(() => true)), ...Object.keys(FLEET_FUNCTIONS)];
    const substitutions = new Set(names.map((k) => `\${${k}}`));
    for (const state of Object.values(asl.States).filter((s) => s.Type === 'Task')) {
      expect(substitutions).toContain(state.Parameters?.FunctionName);
    }
  });

  it('guards every Choice comparison with IsPresent, so a field not yet set cannot fail the run', () => {
    // A Choice on a path that does not exist fails the execution with States.Runtime.
    type Rule = { Variable?: string; IsPresent?: boolean; And?: Rule[]; Or?: Rule[]; Not?: Rule };
    const unguarded: string[] = [];
    const check = (rule: Rule, guarded: Set<string>) => {
      if (rule.And) {
        const present = new Set(guarded);
        for (const r of rule.And) if (r.Variable && r.IsPresent === true) present.add(r.Variable);
        for (const r of rule.And) check(r, present);
        return;
      }
      for (const r of [...(rule.Or ?? []), ...(rule.Not ? [rule.Not] : [])]) check(r, guarded);
      if (rule.Variable && rule.IsPresent === undefined && !guarded.has(rule.Variable))
        unguarded.push(rule.Variable);
    };
    for (const state of Object.values(asl.States)) {
      for (const rule of (state.Choices ?? []) as Rule[]) check(rule, new Set());
    }
    expect(unguarded).toEqual([]);
  });

  it('explains every state in a Comment, which the console shows next to it', () => {
    const bare = Object.entries(asl.States).filter(([, s]) => !s.Comment?.trim());
    expect(bare.map(([name]) => name)).toEqual([]);
  });

  it('names every Task verb first and every Choice as a question', () => {
    const tasks = allStates(asl.States).filter(([, s]) => s.Type === 'Task');
    const choices = Object.entries(asl.States).filter(([, s]) => s.Type === 'Choice');
    expect(tasks.length + choices.length).toBeGreaterThan(0);
    // A new verb is fine: add it here. A noun (`Snapshot`, `Summary`) or a noun+verb
    // (`SnapshotBegin`) is what this catches.
    const verb = new RegExp(`^(${TASK_VERBS.join('|')})[A-Z]`);
    expect(tasks.map(([name]) => name).filter((name) => !verb.test(name))).toEqual([]);
    const question = /^(Is|Are|Has|Have|Does|Do|Did|Should|Need|Can)[A-Z]/;
    expect(choices.map(([name]) => name).filter((name) => !question.test(name))).toEqual([]);
  });

  it('reaches every state from StartAt', () => {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const s = asl.States[name]!;
      for (const next of [
        s.Next,
        s.Default,
        ...(s.Choices ?? []).map((c) => c.Next),
        ...(s.Catch ?? []).map((c) => c.Next),
      ]) {
        if (next) visit(next);
      }
    };
    visit(asl.StartAt);
    expect(Object.keys(asl.States).filter((n) => !seen.has(n))).toEqual([]);
  });
});

describe('the errors module', () => {
  it('gives every error class the name it is exported under, which is what Lambda reports', () => {
    for (const name of MIGRATION_ERROR_NAMES) {
      const cls = (errors as unknown as Record<string, new (m: string) => Error>)[name];
      expect(cls, name).toBeTypeOf('function');
      const instance = new cls!('x');
      expect(instance.name).toBe(name);
      expect(instance).toBeInstanceOf(errors.MigrationError);
    }
  });

  it('lists every MigrationError subclass it exports', () => {
    const exported = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof errors.MigrationError)
      .map(([k]) => k);
    expect([...exported].sort()).toEqual([...MIGRATION_ERROR_NAMES].sort());
  });

  it('has a runbook entry for every error name', () => {
    const runbook = readFileSync(
      fileURLToPath(new URL('../../runbooks/failures.md', import.meta.url)),
      'utf8',
    );
    const missing = [...MIGRATION_ERROR_NAMES, 'States.Timeout'].filter(
      (name) => !runbook.includes(`## ${name}`),
    );
    expect(missing).toEqual([]);
  });
});

describe("the README's map of the migration workflow", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const diagram = readme.slice(0, readme.indexOf('What it guarantees'));
  const stepMap = readme.slice(readme.indexOf('## Step map'), readme.indexOf('## Execution input'));
  const migration = definitions.find((d) => d.file === 'migrate-replication-group.asl.json')!.asl;

  it('names every state in the step map, so a reader finds each state the console shows', () => {
    expect(stepMap.length).toBeGreaterThan(0);
    const missing = Object.keys(migration.States).filter((name) => !stepMap.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('draws every task that does work in the diagram, polls and reports aside', () => {
    const polls = /^(Check|Report)[A-Z]/;
    const tasks = Object.entries(migration.States)
      .filter(([name, s]) => s.Type === 'Task' && !polls.test(name))
      .map(([name]) => name);
    expect(tasks.filter((name) => !new RegExp(`\\b${name}\\b`).test(diagram))).toEqual([]);
  });
});
