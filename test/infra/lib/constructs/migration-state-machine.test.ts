// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ASL definition placeholders are literal text, not template strings
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MigrationStateMachine } from '../../../../infra/lib/constructs/migration-state-machine.js';
import { MigratorFunction } from '../../../../infra/lib/constructs/migrator-function.js';
import { FIXTURE_SOURCES, statementsOfRole } from '../../support.js';

const dir = mkdtempSync(join(tmpdir(), 'migrator-asl-'));

function definitionFile(name: string, states: Record<string, unknown>): string {
  const path = join(dir, name);
  const names = Object.keys(states);
  writeFileSync(
    path,
    JSON.stringify({
      StartAt: names[0],
      States: Object.fromEntries(
        names.map((state, index) => [
          state,
          {
            ...(states[state] as object),
            ...(index === names.length - 1 ? { End: true } : { Next: names[index + 1] }),
          },
        ]),
      ),
    }),
  );
  return path;
}

const task = (functionName: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: functionName, 'Payload.$': '$' },
});

function scaffold() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const make = (id: string) =>
    new MigratorFunction(stack, id, {
      entry: join(FIXTURE_SOURCES.handlersDir, 'preflight.ts'),
      description: id,
    });
  return {
    stack,
    functions: { PreflightFunctionArn: make('Preflight'), RollbackFunctionArn: make('Rollback') },
  };
}

describe('a migration state machine', () => {
  it('fails the synth when its definition uses a placeholder nothing provides', () => {
    const { stack, functions } = scaffold();
    const file = definitionFile('unknown.asl.json', {
      A: task('${PreflightFunctionArn}'),
      B: task('${VerifyFunctionArn}'),
    });
    expect(() => new MigrationStateMachine(stack, 'Machine', { definitionFile: file, functions })).toThrow(
      'unknown.asl.json: no value for ${VerifyFunctionArn}; the stack provides ${PreflightFunctionArn}, ${RollbackFunctionArn}',
    );
  });

  it('fails the synth when its definition is not JSON', () => {
    const { stack, functions } = scaffold();
    const file = join(dir, 'broken.asl.json');
    writeFileSync(file, '{ "StartAt": ');
    expect(() => new MigrationStateMachine(stack, 'Machine', { definitionFile: file, functions })).toThrow(
      /^broken\.asl\.json: not valid JSON/,
    );
  });

  it('substitutes and may invoke only the functions its definition uses', () => {
    const { stack, functions } = scaffold();
    const file = definitionFile('one.asl.json', { A: task('${PreflightFunctionArn}') });
    const machine = new MigrationStateMachine(stack, 'Machine', { definitionFile: file, functions });
    const template = Template.fromStack(stack);
    const preflightArn = {
      'Fn::GetAtt': [
        stack.getLogicalId(functions.PreflightFunctionArn.function.node.defaultChild as never),
        'Arn',
      ],
    };
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: { PreflightFunctionArn: preflightArn },
    });
    expect(Object.keys(machine.invokedFunctions)).toEqual(['PreflightFunctionArn']);
    const role = stack.getLogicalId(machine.stateMachine.role.node.defaultChild as never);
    const invoke = statementsOfRole(template, role).filter(
      (statement) => statement.Sid === 'InvokeStepFunctions',
    );
    expect(invoke).toEqual([
      {
        Sid: 'InvokeStepFunctions',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: preflightArn,
      },
    ]);
  });

  it('adds a batch workflow as one more instance, with values besides function ARNs', () => {
    const { stack, functions } = scaffold();
    const single = definitionFile('migrate-replication-group.asl.json', {
      A: task('${PreflightFunctionArn}'),
    });
    const fleet = definitionFile('migrate-fleet.asl.json', {
      Start: {
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution.sync:2',
        Parameters: { StateMachineArn: '${MigrateReplicationGroupArn}', 'Input.$': '$' },
      },
      Undo: task('${RollbackFunctionArn}'),
    });
    const migrate = new MigrationStateMachine(stack, 'Migrate', { definitionFile: single, functions });
    new MigrationStateMachine(stack, 'Fleet', {
      definitionFile: fleet,
      functions,
      substitutions: { MigrateReplicationGroupArn: migrate.stateMachine.stateMachineArn },
    });
    const machines = Object.values(
      Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'),
    );
    expect(machines).toHaveLength(2);
    expect(machines.map((machine) => Object.keys(machine.Properties.DefinitionSubstitutions).sort())).toEqual(
      [['PreflightFunctionArn'], ['MigrateReplicationGroupArn', 'RollbackFunctionArn']],
    );
  });
});
