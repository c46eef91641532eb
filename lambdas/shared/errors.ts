/**
 * Every error a workflow step can raise. The state machine's Retry and Catch match these names
 * (`error.name`, which Lambda reports as the error type), so this module is the contract between
 * the handlers and `statemachine/*.asl.json`; test/statemachine/contract.test.ts checks both ways.
 * Each error says what is wrong and what to do; runbooks/failures.md maps each name to the
 * operator's next step.
 */
export abstract class MigrationError extends Error {
  /** True when nothing was changed by the step that raised it. */
  abstract readonly changedNothing: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function define<N extends string>(name: N, changedNothing: boolean) {
  const cls = class extends MigrationError {
    override readonly name: N = name;
    readonly changedNothing = changedNothing;
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

// ---- Preflight refusals: nothing has been changed when these are raised.
export const InvalidInputError = define('InvalidInputError', true);
export const SourceNotFoundError = define('SourceNotFoundError', true);
export const SourceNotAvailableError = define('SourceNotAvailableError', true);
export const GlobalDatastoreMemberError = define('GlobalDatastoreMemberError', true);
export const EncryptionNotSupportedError = define('EncryptionNotSupportedError', true);
export const DnsRecordMismatchError = define('DnsRecordMismatchError', true);
export const HostedZoneNotAllowedError = define('HostedZoneNotAllowedError', true);
export const TargetIdTakenError = define('TargetIdTakenError', true);
export const KmsKeyNotUsableError = define('KmsKeyNotUsableError', true);
export const CloudFormationManagedError = define('CloudFormationManagedError', true);
export const SnapshotQuotaError = define('SnapshotQuotaError', true);
export const MigrationInProgressError = define('MigrationInProgressError', true);
export const AuthTokenError = define('AuthTokenError', true);
export const TransitEncryptionPolicyError = define('TransitEncryptionPolicyError', true);
/** The source leaves too little memory for a backup and the input asks to refuse that. */
export const BackupHeadroomError = define('BackupHeadroomError', true);

// ---- Failures during the migration: the workflow rolls back.
export const SnapshotFailedError = define('SnapshotFailedError', false);
export const SnapshotNameConflictError = define('SnapshotNameConflictError', false);
export const TargetCreateFailedError = define('TargetCreateFailedError', false);
export const TargetVerificationError = define('TargetVerificationError', false);
export const DataVerificationError = define('DataVerificationError', false);
export const WaitDeadlineExceededError = define('WaitDeadlineExceededError', false);
export const DnsChangeError = define('DnsChangeError', false);
export const DnsCutoverMismatchError = define('DnsCutoverMismatchError', false);
export const ApprovalRejectedError = define('ApprovalRejectedError', false);
export const SourceDeletionRefusedError = define('SourceDeletionRefusedError', false);
export const SourceDeletionFailedError = define('SourceDeletionFailedError', false);
/** The write freeze ran over its budget `freezeAttempts` times: the catch-up cannot keep up. */
export const FreezeBudgetExceededError = define('FreezeBudgetExceededError', false);
/** CLIENT PAUSE WRITE was refused or did not hold writes: the cutover cannot freeze them. */
export const WriteFreezeError = define('WriteFreezeError', false);
/** An alarm the migration would create exists already and is not this migration's. */
export const AlarmNameTakenError = define('AlarmNameTakenError', false);

// ---- The fleet batch's own steps.
/** The batch ledger stayed contended past the update's budget; the state machine retries the step. */
export const LedgerBusyError = define('LedgerBusyError', true);
/** A group's item of the fleet batch ended without recording how its migration ended. */
export const OutcomeNotRecordedError = define('OutcomeNotRecordedError', true);

// ---- Rollback could not finish: resources are left behind and named in the message.
export const RollbackFailedError = define('RollbackFailedError', false);
/** RollbackStoppedMigration could not read the stopped migration's state: nothing was rolled back. */
export const RecoveryFailedError = define('RecoveryFailedError', false);

/** The names the state machine may match, for the ASL contract test. */
export const MIGRATION_ERROR_NAMES = [
  InvalidInputError,
  SourceNotFoundError,
  SourceNotAvailableError,
  GlobalDatastoreMemberError,
  EncryptionNotSupportedError,
  DnsRecordMismatchError,
  HostedZoneNotAllowedError,
  TargetIdTakenError,
  KmsKeyNotUsableError,
  CloudFormationManagedError,
  SnapshotQuotaError,
  MigrationInProgressError,
  AuthTokenError,
  TransitEncryptionPolicyError,
  SnapshotFailedError,
  SnapshotNameConflictError,
  TargetCreateFailedError,
  TargetVerificationError,
  DataVerificationError,
  WaitDeadlineExceededError,
  DnsChangeError,
  DnsCutoverMismatchError,
  ApprovalRejectedError,
  SourceDeletionRefusedError,
  SourceDeletionFailedError,
  FreezeBudgetExceededError,
  WriteFreezeError,
  BackupHeadroomError,
  AlarmNameTakenError,
  LedgerBusyError,
  OutcomeNotRecordedError,
  RollbackFailedError,
  RecoveryFailedError,
].map((cls) => cls.name);

/**
 * Transient AWS errors the state machine retries with backoff (the SDK already retried them a
 * few times inside the Lambda). Names as the JS SDK v3 reports them (docs/aws-behaviour.md: Errors).
 */
export const TRANSIENT_AWS_ERROR_NAMES = [
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'InternalFailure',
  'ServiceUnavailable',
  'InvalidReplicationGroupStateFault',
] as const;

/** Errors of the Lambda service itself that Step Functions recommends retrying. */
export const LAMBDA_SERVICE_ERROR_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** The section of runbooks/failures.md for an error name (its headings are the error names). */
export function runbookLink(errorName: string | undefined): string {
  return `runbooks/failures.md#${(errorName ?? '').toLowerCase().replace(/[^a-z0-9-]/g, '')}`;
}
