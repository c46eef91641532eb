import { SendTaskFailureCommand, type SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { WaitingGate } from './history.js';

/** How a migration was cancelled. */
export type CancelHow = 'gate-rejected' | 'stopped';

/**
 * Cancels a running migration safely, for the CLI and the API alike. At an approval gate the gate
 * is failed with MigrationCancelledError, and the execution's own Catch runs its rollback at once.
 * Anywhere else it is stopped: Step Functions runs no Catch for a stopped execution, so the
 * deployment's rule on the ABORTED status change starts RollbackStoppedMigration, which rolls it
 * back (docs/stepfunctions-sandbox.md).
 */
export async function cancelExecution(
  sfn: SFNClient,
  executionArn: string,
  gate: WaitingGate | undefined,
  cause: string,
): Promise<CancelHow> {
  if (gate) {
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: gate.taskToken, error: 'MigrationCancelledError', cause }),
    );
    return 'gate-rejected';
  }
  await sfn.send(new StopExecutionCommand({ executionArn, error: 'MigrationCancelledError', cause }));
  return 'stopped';
}
