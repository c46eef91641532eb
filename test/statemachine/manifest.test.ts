// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ASL definition placeholders are literal text, not template strings
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DefinitionSubstitutionError,
  FLEET_WORKFLOW,
  FUNCTION_NAMES,
  FUNCTIONS,
  type FunctionSpec,
  functionSubstitutions,
  placeholdersIn,
  STOPPED_MIGRATION_ROLLBACK,
  selectSubstitutions,
  substitute,
  WORKFLOWS,
} from '../../statemachine/manifest.js';

const DEFINITION = JSON.stringify({
  StartAt: 'A',
  States: {
    A: { Type: 'Task', Parameters: { FunctionName: '${AFunctionArn}' }, Next: 'B' },
    B: { Type: 'Task', Parameters: { FunctionName: '${BFunctionArn}' }, Next: 'C' },
    C: { Type: 'Task', Parameters: { FunctionName: '${AFunctionArn}' }, End: true },
  },
});

describe('definition substitutions', () => {
  it('lists each placeholder once, in order of first use', () => {
    expect(placeholdersIn(DEFINITION)).toEqual(['AFunctionArn', 'BFunctionArn']);
  });

  it('selects only the values a definition uses', () => {
    expect(
      selectSubstitutions(DEFINITION, { AFunctionArn: 1, BFunctionArn: 2, CFunctionArn: 3 }, 'x.asl.json'),
    ).toEqual({
      AFunctionArn: 1,
      BFunctionArn: 2,
    });
  });

  it('fails naming the file, the unknown placeholder and what the stack provides', () => {
    expect(() => selectSubstitutions(DEFINITION, { AFunctionArn: 1, ZFunctionArn: 2 }, 'x.asl.json')).toThrow(
      new DefinitionSubstitutionError(
        'x.asl.json: no value for ${BFunctionArn}; the stack provides ${AFunctionArn}, ${ZFunctionArn}',
      ),
    );
  });

  it('fails on a malformed placeholder instead of deploying it literally', () => {
    expect(() => selectSubstitutions('{"a": "${}", "b": "${1x}"}', {}, 'x.asl.json')).toThrow(
      /x\.asl\.json: placeholder \$\{\} is not a valid substitution name/,
    );
  });

  it('replaces every placeholder, leaving none behind', () => {
    const resolved = substitute(DEFINITION, { AFunctionArn: 'arn:a', BFunctionArn: 'arn:b' }, 'x.asl.json');
    expect(placeholdersIn(resolved)).toEqual([]);
    expect(JSON.parse(resolved).States.C.Parameters.FunctionName).toBe('arn:a');
  });
});

describe('the function list', () => {
  const handlersDir = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));
  const handlerFiles = readdirSync(handlersDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -'.ts'.length));

  it('names a handler module that exists for every function, each once', () => {
    const declared = FUNCTION_NAMES.map((name) => FUNCTIONS[name].handler);
    expect(declared.filter((handler) => !handlerFiles.includes(handler))).toEqual([]);
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('gives every function its own substitution name, as the ASL files use them', () => {
    const names = FUNCTION_NAMES.map((name) => (FUNCTIONS[name] as FunctionSpec).substitution);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Za-z0-9]*FunctionArn$/);
  });

  it('binds each function ARN to its substitution name', () => {
    const substitutions = functionSubstitutions((name) => `arn:${name}`);
    expect(substitutions.PreflightFunctionArn).toBe('arn:preflight');
    expect(substitutions.RequestApprovalFunctionArn).toBe('arn:requestApproval');
    expect(Object.keys(substitutions)).toHaveLength(FUNCTION_NAMES.length);
  });

  it('declares every definition file of statemachine/ as a workflow (or the stopped-migration rollback, or the fleet batch), and only those', () => {
    const dir = fileURLToPath(new URL('../../statemachine/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.asl.json'));
    expect(
      [
        ...Object.values(WORKFLOWS).map((w) => w.file),
        STOPPED_MIGRATION_ROLLBACK.file,
        FLEET_WORKFLOW.file,
      ].sort(),
    ).toEqual(files.sort());
  });
});
