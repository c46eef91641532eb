import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Names, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DefinitionSubstitutionError, selectSubstitutions } from '../../../statemachine/manifest.js';
import type { MigratorFunction } from './migrator-function.js';

export interface MigrationStateMachineProps {
  /** Absolute path of an ASL file in `statemachine/`. */
  readonly definitionFile: string;
  /**
   * Functions the definition may invoke, by substitution name (`PreflightFunctionArn` → function).
   * Only those the file uses are substituted and granted `lambda:InvokeFunction`.
   */
  readonly functions: Readonly<Record<string, MigratorFunction>>;
  /**
   * Other values the definition may use, by substitution name.
   * @default - none
   */
  readonly substitutions?: Readonly<Record<string, string>>;
  /**
   * Retention of the execution log group.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * Whether execution logs include state input and output.
   * @default true
   */
  readonly includeExecutionData?: boolean;
}

/**
 * A Standard state machine whose definition is an ASL file of `statemachine/`, kept verbatim in the
 * template (so `cdk diff` shows definition changes) with `DefinitionSubstitutions` for every
 * placeholder. Logs ALL events to a vended log group and traces with X-Ray.
 *
 * Another workflow (e.g. a batch over a fleet) is one more instance of this construct.
 */
export class MigrationStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  /** The functions the definition invokes, by substitution name. */
  readonly invokedFunctions: Readonly<Record<string, MigratorFunction>>;

  constructor(scope: Construct, id: string, props: MigrationStateMachineProps) {
    super(scope, id);
    const file = basename(props.definitionFile);
    const definition = readFileSync(props.definitionFile, 'utf8');
    try {
      JSON.parse(definition);
    } catch (error) {
      throw new DefinitionSubstitutionError(`${file}: not valid JSON: ${(error as Error).message}`);
    }

    const functionValues = Object.fromEntries(
      Object.entries(props.functions).map(([name, fn]) => [name, { kind: 'function' as const, fn }]),
    );
    const otherValues = Object.fromEntries(
      Object.entries(props.substitutions ?? {}).map(([name, value]) => [
        name,
        { kind: 'value' as const, value },
      ]),
    );
    const clash = Object.keys(otherValues).find((name) => name in functionValues);
    if (clash !== undefined) {
      throw new DefinitionSubstitutionError(
        `${file}: substitution \${${clash}} is given both as a function and a value`,
      );
    }
    const used = selectSubstitutions(definition, { ...functionValues, ...otherValues }, file);

    const invoked: Record<string, MigratorFunction> = {};
    const substitutions: Record<string, string> = {};
    for (const [name, entry] of Object.entries(used)) {
      if (entry.kind === 'function') {
        invoked[name] = entry.fn;
        substitutions[name] = entry.fn.function.functionArn;
      } else {
        substitutions[name] = entry.value;
      }
    }
    this.invokedFunctions = invoked;

    // Vended-logs prefix: Step Functions delivers through CloudWatch Logs vended logs, and the
    // prefix keeps the log group resource policy from growing with every state machine.
    // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
    this.logGroup = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `/aws/vendedlogs/states/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`,
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateMachine = new StateMachine(this, 'Resource', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(definition),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: LogLevel.ALL,
        includeExecutionData: props.includeExecutionData ?? true,
      },
    });

    const functionArns = Object.values(invoked).map((fn) => fn.function.functionArn);
    if (functionArns.length > 0) {
      // The unqualified ARNs only: the definition invokes $LATEST through the unqualified name.
      this.stateMachine.addToRolePolicy(
        new PolicyStatement({
          sid: 'InvokeStepFunctions',
          actions: ['lambda:InvokeFunction'],
          resources: functionArns,
        }),
      );
    }
  }
}
