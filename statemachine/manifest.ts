/**
 * The workflow manifest: the Lambda functions the state machines invoke, the state machines, the
 * `${Name}` substitutions that bind them, and the tags the workflow puts on what it touches.
 * infra/ (the CDK stack), sandbox/ (the local runner) and the tests all read it, so a function is
 * declared once.
 *
 * Adding a function: one entry in `FUNCTIONS` (its handler in `lambdas/handlers/<handler>.ts`).
 * The stack then requires its IAM statements in `infra/lib/permissions.ts` (a type error until
 * they are there), and the sandbox loads its handler.
 *
 * Plain data and pure functions only: the Lambda handlers import the tag names from here.
 */

/** One Lambda function of the workflows. */
export interface FunctionSpec {
  /** Handler module in `lambdas/handlers/`, without `.ts`; also the function's local name. */
  readonly handler: string;
  /**
   * The `${Name}` the ASL uses for the function's ARN; none for a function no state machine
   * invokes (an API's, say).
   */
  readonly substitution?: string;
  /** The function's description (shown in the Lambda console). */
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Runs in the VPC: it speaks the Redis protocol to the caches. */
  readonly inVpc: boolean;
}

/**
 * The functions, keyed by the name the stack gives them (the construct id is this name
 * capitalized: changing a key replaces the deployed function).
 */
export const FUNCTIONS = {
  preflight: {
    handler: 'preflight',
    substitution: 'PreflightFunctionArn',
    description:
      'Preflight: checks that a replication group can be migrated, proves its AUTH token, claims it',
    memorySize: 256,
    timeoutSeconds: 120,
    // It proves the AUTH token against the source over Redis.
    inVpc: true,
  },
  snapshot: {
    handler: 'snapshot',
    substitution: 'SnapshotFunctionArn',
    description: 'Snapshot: marks the source and backs it up',
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  restore: {
    handler: 'restore',
    substitution: 'RestoreFunctionArn',
    description: 'Restore: creates the encrypted target from the backup',
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  verifyTarget: {
    handler: 'verify-target',
    substitution: 'VerifyTargetFunctionArn',
    description: 'Verify target: compares the configuration of source and target',
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  verifyData: {
    handler: 'verify-data',
    substitution: 'VerifyDataFunctionArn',
    description: 'Data path: catches up, freezes writes and flips, moves clients, copies back on rollback',
    memorySize: 1024,
    timeoutSeconds: 900,
    inVpc: true,
  },
  changeTracking: {
    handler: 'change-tracking',
    substitution: 'ChangeTrackingFunctionArn',
    description: "Change tracking: keyspace notifications in the source's parameter group, and back",
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  cutover: {
    handler: 'cutover',
    substitution: 'CutoverFunctionArn',
    description: 'Cutover: points the application CNAME at the target',
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  decommission: {
    handler: 'decommission',
    substitution: 'DecommissionFunctionArn',
    description: 'Decommission: deletes the source with a final backup',
    memorySize: 256,
    timeoutSeconds: 60,
    inVpc: false,
  },
  rollback: {
    handler: 'rollback',
    substitution: 'RollbackFunctionArn',
    description: 'Rollback: points the CNAME back at the source and deletes the target',
    memorySize: 256,
    timeoutSeconds: 120,
    inVpc: false,
  },
  alarms: {
    handler: 'alarms',
    substitution: 'AlarmsFunctionArn',
    description: "Alarms: carries the source's CloudWatch alarms over to the new group, removes the old ones",
    memorySize: 256,
    timeoutSeconds: 120,
    inVpc: false,
  },
  requestApproval: {
    handler: 'request-approval',
    substitution: 'RequestApprovalFunctionArn',
    description: 'Request approval: sends the task token and the plan to the approval topic',
    memorySize: 256,
    timeoutSeconds: 30,
    inVpc: false,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

/** Every function name, in manifest order. */
export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** The state machines, by name (the construct id and the output `<Name>StateMachineArn`). */
export const WORKFLOWS = {
  MigrateReplicationGroup: { file: 'migrate-replication-group.asl.json' },
} as const;

export type WorkflowName = keyof typeof WORKFLOWS;

/**
 * Not started by operators: the deployment's status-change rule starts it when a migration is
 * stopped (StopExecution) or times out, since no Catch runs then (docs/cli.md, "Cancel").
 */
export const STOPPED_MIGRATION_ROLLBACK = {
  name: 'RollbackStoppedMigration',
  file: 'rollback-stopped-migration.asl.json',
} as const;

/**
 * The scheduled fleet batch: deployed by its own construct (infra/lib/constructs/fleet-batch.ts)
 * with its own functions, and started by the schedule, the CLI or an operator (docs/fleet.md).
 */
export const FLEET_WORKFLOW = {
  name: 'MigrateFleet',
  file: 'migrate-fleet.asl.json',
} as const;

/** The substitutions of every function's ARN: `{ PreflightFunctionArn: arnOf('preflight'), … }`. */
export function functionSubstitutions<T>(
  arnOf: (name: FunctionName, spec: FunctionSpec) => T,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const name of FUNCTION_NAMES) {
    const spec: FunctionSpec = FUNCTIONS[name];
    if (spec.substitution !== undefined) out[spec.substitution] = arnOf(name, spec);
  }
  return out;
}

// ------------------------------------------------------------------------------ tags

/**
 * The tags the workflow puts on the resources it touches. The handlers write them; the IAM
 * policies of `infra/lib/permissions.ts` test them. Existing claims carry these keys: renaming
 * one orphans them.
 */

/** Execution name of the migration that tagged the resource. */
export const TAG_MIGRATION_ID = 'at-rest-migrator:migration-id';

/** What the resource is to the migration. */
export const TAG_ROLE = 'at-rest-migrator:role';

/** On the new group: the id of the source it was migrated from. */
export const TAG_SOURCE = 'at-rest-migrator:source';

/** Operators put this tag on a secret (value `true`) to let the migrator read it. */
export const TAG_SECRET_ALLOWED = 'at-rest-migrator:allowed';

/** Values of `TAG_ROLE`. */
export const ROLE_SOURCE = 'source';
/** The encrypted group created by the migration (set in the CreateReplicationGroup request). */
export const ROLE_TARGET = 'target';
/** The intermediate snapshot a migration takes (set in the CreateSnapshot request). */
export const ROLE_INTERMEDIATE_SNAPSHOT = 'intermediate-snapshot';
/** An alarm a migration created for the new group (set in the PutMetricAlarm request). */
export const ROLE_ALARM = 'alarm';
/** A source alarm marked for removal once the source is deleted (lambdas/migration/alarms.ts). */
export const ROLE_SOURCE_ALARM = 'source-alarm';

// ------------------------------------------------------------------------------ substitutions

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const VALID_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** A definition whose placeholders do not match what is provided. */
export class DefinitionSubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionSubstitutionError';
  }
}

/** The distinct placeholder names used in a definition, in order of first use. */
export function placeholdersIn(definition: string): string[] {
  const names = new Set<string>();
  for (const match of definition.matchAll(PLACEHOLDER)) {
    names.add(match[1] ?? '');
  }
  return [...names];
}

/**
 * Picks, from everything that can be provided, the substitutions a definition uses. Throws when a
 * placeholder is malformed or unknown, naming the file and what is available.
 */
export function selectSubstitutions<T>(
  definition: string,
  available: Readonly<Record<string, T>>,
  file: string,
): Record<string, T> {
  const selected: Record<string, T> = {};
  const unknown: string[] = [];
  for (const name of placeholdersIn(definition)) {
    if (!VALID_NAME.test(name)) {
      throw new DefinitionSubstitutionError(
        `${file}: placeholder \${${name}} is not a valid substitution name (expected letters and digits, starting with a letter)`,
      );
    }
    const value = available[name];
    if (value === undefined) {
      unknown.push(name);
    } else {
      selected[name] = value;
    }
  }
  if (unknown.length > 0) {
    throw new DefinitionSubstitutionError(
      `${file}: no value for ${unknown.map((name) => `\${${name}}`).join(', ')}; the stack provides ${Object.keys(
        available,
      )
        .sort()
        .map((name) => `\${${name}}`)
        .join(', ')}`,
    );
  }
  return selected;
}

/** Replaces every placeholder with its value, as Step Functions does at deploy time. */
export function substitute(
  definition: string,
  values: Readonly<Record<string, string>>,
  file: string,
): string {
  selectSubstitutions(definition, values, file);
  return definition.replace(PLACEHOLDER, (_match, name: string) => values[name] ?? '');
}
