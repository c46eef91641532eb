import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import {
  denied,
  type FaultPoint,
  SHORT_TIMEOUTS,
  SOURCE,
  SOURCE_ARN,
  TARGET,
  TARGET_ARN,
  throttled,
} from './fault-matrix.js';
import { type WorkflowBed, ZONE_ID } from './workflow.js';

/** The rows of the fault matrix, by stage of the workflow. */

/** Another team's change to a record, made while the migration runs. */
async function moveRecord(bed: WorkflowBed, name: string, value: string): Promise<void> {
  await bed.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE_ID,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: name, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: value }] },
          },
        ],
      },
    }),
  );
}
type Rows = FaultPoint[];

const refused = (error: string) => ({ end: 'refused' as const, error, flipped: false });
const rolledBack = (error: string, flipped = false) => ({ end: 'rolled-back' as const, error, flipped });
const serves = (error: string, sourceDeletionStarted: boolean) => ({
  end: 'target-serves' as const,
  error,
  flipped: true,
  sourceDeletionStarted,
  // The run ends before the clean-up step: the intermediate snapshot and the claim stay.
  snapshotLeft: true,
});

/** Preflight reads only: a failure of any read refuses with nothing changed. */
export const preflightRows: Rows = [
  {
    name: 'DescribeReplicationGroups fails reading the source at preflight',
    fails: ['DescribeReplicationGroups'],
    arm: [
      {
        at: 'RunPreflight',
        faults: [denied('DescribeReplicationGroups', { when: { ReplicationGroupId: SOURCE } })],
      },
    ],
    expect: refused('AccessDenied'),
  },
  {
    name: 'DescribeReplicationGroups fails checking the target id at preflight',
    fails: ['DescribeReplicationGroups'],
    arm: [
      {
        at: 'RunPreflight',
        faults: [denied('DescribeReplicationGroups', { when: { ReplicationGroupId: TARGET } })],
      },
    ],
    expect: refused('AccessDenied'),
  },
  {
    name: 'DescribeCacheClusters fails reading a source member at preflight',
    fails: ['DescribeCacheClusters'],
    arm: [{ at: 'RunPreflight', faults: [denied('DescribeCacheClusters')] }],
    expect: refused('AccessDenied'),
  },
  {
    name: "ListTagsForResource fails reading the source's tags at preflight",
    fails: ['ListTagsForResource'],
    arm: [{ at: 'RunPreflight', faults: [denied('ListTagsForResource')] }],
    expect: refused('AccessDenied'),
  },
  {
    name: 'DescribeKey fails at preflight',
    fails: ['DescribeKey'],
    arm: [{ at: 'RunPreflight', faults: [denied('DescribeKey')] }],
    expect: refused('AccessDeniedException'),
  },
  {
    name: 'GetHostedZone fails at preflight',
    fails: ['GetHostedZone'],
    arm: [{ at: 'RunPreflight', faults: [denied('GetHostedZone')] }],
    expect: refused('AccessDenied'),
  },
  {
    name: 'ListResourceRecordSets fails reading the second record at preflight',
    fails: ['ListResourceRecordSets'],
    arm: [{ at: 'RunPreflight', faults: [denied('ListResourceRecordSets', { skip: 1 })] }],
    expect: refused('AccessDenied'),
  },
  {
    name: 'DescribeSnapshots fails counting recent backups at preflight',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'RunPreflight', faults: [denied('DescribeSnapshots')] }],
    expect: refused('AccessDenied'),
  },
  {
    name: 'GetSecretValue is denied reading the AUTH token at preflight',
    fails: ['GetSecretValue'],
    auth: true,
    arm: [{ at: 'RunPreflight', faults: [denied('GetSecretValue')] }],
    expect: refused('AuthTokenError'),
  },
];

/** Snapshot and restore: the rollback deletes what this migration created and releases the source. */
export const beforeFlipRows: Rows = [
  {
    name: 'AddTagsToResource fails claiming the source',
    fails: ['AddTagsToResource'],
    arm: [{ at: 'CreateSnapshot', faults: [denied('AddTagsToResource')] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'DescribeSnapshots fails once looking for an earlier snapshot',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'CreateSnapshot', faults: [denied('DescribeSnapshots', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'DescribeSnapshots keeps failing from the snapshot step on, through the rollback',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'CreateSnapshot', faults: [denied('DescribeSnapshots')] }],
    expect: {
      end: 'rollback-failed',
      error: 'RollbackFailedError',
      flipped: false,
      unreadable: ['snapshot'],
    },
  },
  {
    name: 'CreateSnapshot is denied',
    fails: ['CreateSnapshot'],
    arm: [{ at: 'CreateSnapshot', faults: [denied('CreateSnapshot')] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'CreateSnapshot hits the snapshot quota',
    arm: [
      {
        at: 'CreateSnapshot',
        faults: [
          {
            type: 'api-error',
            service: 'elasticache',
            operation: 'CreateSnapshot',
            code: 'SnapshotQuotaExceededFault',
          },
        ],
      },
    ],
    expect: rolledBack('SnapshotQuotaExceededFault'),
  },
  {
    name: 'DescribeSnapshots fails once polling the snapshot',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'CheckSnapshot', faults: [denied('DescribeSnapshots', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'the snapshot ends failed',
    arm: [{ at: 'RunPreflight', faults: [{ type: 'snapshot', outcome: 'failed' }] }],
    expect: rolledBack('SnapshotFailedError'),
  },
  {
    name: 'the snapshot disappears while it is created',
    arm: [{ at: 'RunPreflight', faults: [{ type: 'snapshot', outcome: 'disappears' }] }],
    expect: rolledBack('SnapshotFailedError'),
  },
  {
    name: 'DescribeReplicationGroups fails once looking for the target before the restore',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'RestoreEncryptedGroup', faults: [denied('DescribeReplicationGroups', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'GetSecretValue is denied reading the AUTH token for the restore',
    fails: ['GetSecretValue'],
    auth: true,
    arm: [{ at: 'RestoreEncryptedGroup', faults: [denied('GetSecretValue')] }],
    expect: rolledBack('AuthTokenError'),
  },
  {
    name: 'CreateReplicationGroup is denied',
    fails: ['CreateReplicationGroup'],
    arm: [{ at: 'RestoreEncryptedGroup', faults: [denied('CreateReplicationGroup')] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'CreateReplicationGroup finds no capacity',
    arm: [
      {
        at: 'RestoreEncryptedGroup',
        faults: [
          {
            type: 'api-error',
            service: 'elasticache',
            operation: 'CreateReplicationGroup',
            code: 'InsufficientCacheClusterCapacityFault',
          },
        ],
      },
    ],
    expect: rolledBack('TargetCreateFailedError'),
  },
  {
    name: 'the snapshot never finishes',
    input: SHORT_TIMEOUTS,
    arm: [{ at: 'RunPreflight', faults: [{ type: 'snapshot', outcome: 'stuck' }] }],
    // A snapshot being created cannot be deleted: the rollback reports it (and the source stays
    // `snapshotting` in the sandbox, where a stuck snapshot never ends).
    expect: {
      end: 'rollback-failed',
      error: 'RollbackFailedError',
      flipped: false,
      sourceStatus: 'snapshotting',
    },
  },
  {
    name: 'the new group never finishes creating',
    input: SHORT_TIMEOUTS,
    arm: [
      {
        at: 'RunPreflight',
        faults: [{ type: 'replication-group', id: TARGET, phase: 'create', outcome: 'stuck' }],
      },
    ],
    // A group being created cannot be deleted: the rollback reports it left behind.
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'the new group ends create-failed',
    arm: [
      {
        at: 'RunPreflight',
        faults: [{ type: 'replication-group', id: TARGET, phase: 'create', outcome: 'create-failed' }],
      },
    ],
    expect: rolledBack('TargetCreateFailedError'),
  },
  {
    name: 'DescribeReplicationGroups fails once polling the new group',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'CheckEncryptedGroup', faults: [denied('DescribeReplicationGroups', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'DescribeReplicationGroups keeps failing from the restore poll on, through the rollback',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'CheckEncryptedGroup', faults: [denied('DescribeReplicationGroups')] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false, unreadable: ['target'] },
  },
  {
    name: "ListTagsForResource fails once reading the new group's tags when it is available",
    fails: ['ListTagsForResource'],
    arm: [
      {
        at: 'CheckEncryptedGroup',
        faults: [denied('ListTagsForResource', { times: 1, when: { ResourceName: TARGET_ARN } })],
      },
    ],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'DescribeCacheClusters fails verifying the new group',
    fails: ['DescribeCacheClusters'],
    arm: [{ at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters')] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ListTagsForResource fails once verifying the new group',
    fails: ['ListTagsForResource'],
    arm: [{ at: 'VerifyEncryptedGroup', faults: [denied('ListTagsForResource', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ListTagsForResource keeps failing on the new group, through the rollback',
    fails: ['ListTagsForResource'],
    arm: [
      {
        at: 'VerifyEncryptedGroup',
        faults: [denied('ListTagsForResource', { when: { ResourceName: TARGET_ARN } })],
      },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'the operator rejects the snapshot',
    input: { approvals: { beforeSnapshot: true } },
    arm: [],
    decide: (gate) =>
      gate === 'beforeSnapshot'
        ? { error: 'ApprovalRejectedError', cause: 'rejected by test' }
        : { output: {} },
    expect: rolledBack('ApprovalRejectedError'),
  },
  {
    name: 'the operator rejects the cutover',
    input: { approvals: { beforeCutover: true } },
    arm: [],
    decide: (gate) =>
      gate === 'beforeCutover'
        ? { error: 'ApprovalRejectedError', cause: 'rejected by test' }
        : { output: {} },
    expect: rolledBack('ApprovalRejectedError'),
  },
];

/** Cutover: once a record may have changed, the rollback restores every record, then deletes. */
export const cutoverRows: Rows = [
  {
    name: 'ListResourceRecordSets fails once re-reading the records before the cutover',
    fails: ['ListResourceRecordSets'],
    arm: [{ at: 'LowerTtl', faults: [denied('ListResourceRecordSets', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ListResourceRecordSets keeps failing from the cutover on, through the rollback',
    fails: ['ListResourceRecordSets'],
    arm: [{ at: 'LowerTtl', faults: [denied('ListResourceRecordSets')] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false, unreadable: ['records'] },
  },
  {
    name: 'another team moves a record elsewhere before the cutover',
    arm: [
      {
        at: 'LowerTtl',
        run: (bed) => moveRecord(bed, 'orders-ro.example.internal.', 'replica.elsewhere.example.internal'),
      },
    ],
    expect: {
      ...rolledBack('DnsRecordMismatchError'),
      foreignRecord: { name: 'orders-ro.example.internal.', value: 'replica.elsewhere.example.internal' },
    },
  },
  {
    name: 'ChangeResourceRecordSets fails once lowering the TTL',
    fails: ['ChangeResourceRecordSets'],
    arm: [{ at: 'LowerTtl', faults: [denied('ChangeResourceRecordSets', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ChangeResourceRecordSets keeps failing from the TTL change on, through the rollback',
    fails: ['ChangeResourceRecordSets'],
    arm: [{ at: 'LowerTtl', faults: [denied('ChangeResourceRecordSets')] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'GetChange fails once waiting for the TTL change',
    fails: ['GetChange'],
    arm: [{ at: 'LowerTtl', faults: [denied('GetChange', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'the TTL change stays PENDING past its deadline and Route 53 recovers for the rollback',
    input: SHORT_TIMEOUTS,
    arm: [
      { at: 'LowerTtl', faults: [{ type: 'dns-change', outcome: 'stuck-pending' }] },
      { at: 'RollBackChanges', clear: true },
    ],
    expect: rolledBack('WaitDeadlineExceededError'),
  },
  {
    name: 'every Route 53 change stays PENDING, the rollback included',
    input: SHORT_TIMEOUTS,
    arm: [{ at: 'LowerTtl', faults: [{ type: 'dns-change', outcome: 'stuck-pending' }] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'DescribeReplicationGroups fails once checking the new group before the flip',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'FlipRecords', faults: [denied('DescribeReplicationGroups', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ChangeResourceRecordSets fails once submitting the flip',
    fails: ['ChangeResourceRecordSets'],
    arm: [{ at: 'FlipRecords', faults: [denied('ChangeResourceRecordSets', { times: 1 })] }],
    expect: rolledBack('AccessDenied'),
  },
  {
    name: 'ChangeResourceRecordSets keeps failing from the flip on, through the rollback',
    fails: ['ChangeResourceRecordSets'],
    arm: [{ at: 'FlipRecords', faults: [denied('ChangeResourceRecordSets')] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'GetChange fails once waiting for the flip',
    fails: ['GetChange'],
    arm: [{ at: 'FlipRecords', faults: [denied('GetChange', { times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: 'GetChange keeps failing from the flip on, through the rollback',
    fails: ['GetChange'],
    arm: [{ at: 'FlipRecords', faults: [denied('GetChange')] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: true },
  },
  {
    name: 'the flip stays PENDING past its deadline and Route 53 recovers for the rollback',
    input: SHORT_TIMEOUTS,
    arm: [
      { at: 'FlipRecords', faults: [{ type: 'dns-change', outcome: 'stuck-pending' }] },
      { at: 'RollBackChanges', clear: true },
    ],
    expect: rolledBack('WaitDeadlineExceededError', true),
  },
  {
    name: 'the flip and the rollback of the records stay PENDING',
    input: SHORT_TIMEOUTS,
    arm: [{ at: 'FlipRecords', faults: [{ type: 'dns-change', outcome: 'stuck-pending' }] }],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: true },
  },
  {
    name: 'DescribeReplicationGroups fails once confirming the cutover',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'ConfirmFlip', faults: [denied('DescribeReplicationGroups', { times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: 'ListResourceRecordSets fails once confirming the cutover',
    fails: ['ListResourceRecordSets'],
    arm: [{ at: 'ConfirmFlip', faults: [denied('ListResourceRecordSets', { times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: 'the operator rejects deleting the source after the cutover',
    input: { approvals: { beforeDeleteSource: true } },
    arm: [],
    decide: (gate) =>
      gate === 'beforeDeleteSource'
        ? { error: 'ApprovalRejectedError', cause: 'rejected by test' }
        : { output: {} },
    expect: rolledBack('ApprovalRejectedError', true),
  },
];

/** Failures of the rollback itself: the execution names everything left behind. */
export const rollbackRows: Rows = [
  {
    name: 'DeleteReplicationGroup always fails on the target during a rollback before the flip',
    fails: ['DescribeCacheClusters', 'DeleteReplicationGroup'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('DeleteReplicationGroup')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'DeleteReplicationGroup always fails on the target during a rollback after the flip',
    fails: ['GetChange', 'DeleteReplicationGroup'],
    arm: [
      { at: 'FlipRecords', faults: [denied('GetChange', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('DeleteReplicationGroup')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: true },
  },
  {
    name: 'the target never finishes deleting during the rollback',
    fails: ['DescribeCacheClusters'],
    input: SHORT_TIMEOUTS,
    arm: [
      {
        at: 'VerifyEncryptedGroup',
        faults: [
          denied('DescribeCacheClusters', { times: 1 }),
          { type: 'replication-group', id: TARGET, phase: 'delete', outcome: 'stuck' },
        ],
      },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'DeleteSnapshot always fails during the rollback',
    fails: ['DescribeCacheClusters', 'DeleteSnapshot'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('DeleteSnapshot')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'RemoveTagsFromResource always fails releasing the source during the rollback',
    fails: ['DescribeCacheClusters', 'RemoveTagsFromResource'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('RemoveTagsFromResource')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false },
  },
  {
    name: 'ChangeResourceRecordSets always fails restoring the records after the flip',
    fails: ['GetChange', 'ChangeResourceRecordSets'],
    arm: [
      { at: 'FlipRecords', faults: [denied('GetChange', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('ChangeResourceRecordSets')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: true },
  },
  {
    name: 'GetChange always fails waiting for the restored records',
    fails: ['ListResourceRecordSets', 'GetChange'],
    arm: [
      { at: 'ConfirmFlip', faults: [denied('ListResourceRecordSets', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('GetChange')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: true },
  },
  {
    name: 'ListResourceRecordSets always fails checking the restored records',
    fails: ['GetChange', 'ListResourceRecordSets'],
    arm: [
      { at: 'FlipRecords', faults: [denied('GetChange', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('ListResourceRecordSets')] },
    ],
    expect: {
      end: 'rollback-failed',
      error: 'RollbackFailedError',
      flipped: true,
      unreadable: ['records'],
    },
  },
  {
    name: 'DescribeReplicationGroups always fails during the rollback',
    fails: ['DescribeCacheClusters', 'DescribeReplicationGroups'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('DescribeReplicationGroups')] },
    ],
    expect: { end: 'rollback-failed', error: 'RollbackFailedError', flipped: false, unreadable: ['target'] },
  },
  {
    name: 'DescribeSnapshots always fails during the rollback',
    fails: ['DescribeCacheClusters', 'DescribeSnapshots'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [denied('DescribeSnapshots')] },
    ],
    expect: {
      end: 'rollback-failed',
      error: 'RollbackFailedError',
      flipped: false,
      unreadable: ['snapshot'],
    },
  },
  {
    name: 'a throttling storm hits DeleteReplicationGroup during the rollback',
    fails: ['DescribeCacheClusters'],
    throttles: ['DeleteReplicationGroup'],
    arm: [
      { at: 'VerifyEncryptedGroup', faults: [denied('DescribeCacheClusters', { times: 1 })] },
      { at: 'RollBackChanges', faults: [throttled('DeleteReplicationGroup')] },
    ],
    expect: rolledBack('AccessDenied'),
  },
];

/** Stages that must never end in a rollback: a verified cutover stands. */
export const afterCutoverRows: Rows = [
  {
    name: 'DescribeReplicationGroups fails reading the source before deleting it',
    fails: ['DescribeReplicationGroups'],
    arm: [
      {
        at: 'DeleteSource',
        faults: [denied('DescribeReplicationGroups', { when: { ReplicationGroupId: SOURCE } })],
      },
    ],
    expect: serves('AccessDenied', false),
  },
  {
    name: 'ListResourceRecordSets fails checking the records before deleting the source',
    fails: ['ListResourceRecordSets'],
    arm: [{ at: 'DeleteSource', faults: [denied('ListResourceRecordSets')] }],
    expect: serves('AccessDenied', false),
  },
  {
    name: "ListTagsForResource fails checking the source's claim before deleting it",
    fails: ['ListTagsForResource'],
    arm: [
      {
        at: 'DeleteSource',
        faults: [denied('ListTagsForResource', { when: { ResourceName: SOURCE_ARN } })],
      },
    ],
    expect: serves('AccessDenied', false),
  },
  {
    name: 'DescribeSnapshots fails checking the final snapshot name',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'DeleteSource', faults: [denied('DescribeSnapshots')] }],
    expect: serves('AccessDenied', false),
  },
  {
    name: 'DeleteReplicationGroup is denied deleting the source',
    fails: ['DeleteReplicationGroup'],
    arm: [{ at: 'DeleteSource', faults: [denied('DeleteReplicationGroup')] }],
    expect: serves('AccessDenied', false),
  },
  {
    name: 'DescribeReplicationGroups fails polling the deletion of the source',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'CheckSourceDeletion', faults: [denied('DescribeReplicationGroups')] }],
    expect: serves('AccessDenied', true),
  },
  {
    name: 'DescribeSnapshots fails polling the final snapshot',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'CheckSourceDeletion', faults: [denied('DescribeSnapshots')] }],
    expect: serves('AccessDenied', true),
  },
  {
    name: 'the source never finishes deleting',
    input: SHORT_TIMEOUTS,
    arm: [
      {
        at: 'DeleteSource',
        faults: [{ type: 'replication-group', id: SOURCE, phase: 'delete', outcome: 'stuck' }],
      },
    ],
    expect: { ...serves('WaitDeadlineExceededError', true), sourceStatus: 'deleting' },
  },
  {
    name: 'DescribeSnapshots fails finding the intermediate snapshot at the end',
    fails: ['DescribeSnapshots'],
    arm: [{ at: 'CleanUpAndSummarize', faults: [denied('DescribeSnapshots')] }],
    expect: { end: 'cleanup-failed', error: 'AccessDenied', flipped: true, snapshotLeft: true },
  },
  {
    name: 'DeleteSnapshot fails removing the intermediate snapshot at the end',
    fails: ['DeleteSnapshot'],
    arm: [{ at: 'CleanUpAndSummarize', faults: [denied('DeleteSnapshot')] }],
    expect: { end: 'cleanup-failed', error: 'AccessDenied', flipped: true, snapshotLeft: true },
  },
  {
    name: 'DescribeReplicationGroups fails writing the summary',
    fails: ['DescribeReplicationGroups'],
    arm: [{ at: 'CleanUpAndSummarize', faults: [denied('DescribeReplicationGroups')] }],
    expect: { end: 'cleanup-failed', error: 'AccessDenied', flipped: true },
  },
  {
    name: 'RemoveTagsFromResource fails releasing the kept source at the end',
    fails: ['RemoveTagsFromResource'],
    input: { deleteSource: false },
    arm: [{ at: 'CleanUpAndSummarize', faults: [denied('RemoveTagsFromResource')] }],
    expect: { end: 'cleanup-failed', error: 'AccessDenied', flipped: true, sourceStillClaimed: true },
  },
];

const migrated = { end: 'migrated' as const, flipped: true };

/** Throttling storms on every operation where it is used first: the migration still succeeds. */
const throttlingRows: Rows = [
  {
    name: 'a throttling storm hits DescribeReplicationGroups at preflight',
    throttles: ['DescribeReplicationGroups'],
    arm: [{ at: 'RunPreflight', faults: [throttled('DescribeReplicationGroups')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits DescribeCacheClusters at preflight',
    throttles: ['DescribeCacheClusters'],
    arm: [{ at: 'RunPreflight', faults: [throttled('DescribeCacheClusters')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits ListTagsForResource at preflight',
    throttles: ['ListTagsForResource'],
    arm: [{ at: 'RunPreflight', faults: [throttled('ListTagsForResource')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits DescribeKey at preflight',
    throttles: ['DescribeKey'],
    arm: [{ at: 'RunPreflight', faults: [throttled('DescribeKey')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits GetHostedZone at preflight',
    throttles: ['GetHostedZone'],
    arm: [{ at: 'RunPreflight', faults: [throttled('GetHostedZone')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits GetSecretValue at preflight',
    throttles: ['GetSecretValue'],
    auth: true,
    arm: [{ at: 'RunPreflight', faults: [throttled('GetSecretValue')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits AddTagsToResource claiming the source',
    throttles: ['AddTagsToResource'],
    arm: [{ at: 'CreateSnapshot', faults: [throttled('AddTagsToResource')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits CreateSnapshot',
    throttles: ['CreateSnapshot'],
    arm: [{ at: 'CreateSnapshot', faults: [throttled('CreateSnapshot')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits DescribeSnapshots polling the snapshot',
    throttles: ['DescribeSnapshots'],
    arm: [{ at: 'CheckSnapshot', faults: [throttled('DescribeSnapshots')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits CreateReplicationGroup',
    throttles: ['CreateReplicationGroup'],
    arm: [{ at: 'RestoreEncryptedGroup', faults: [throttled('CreateReplicationGroup')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits ListResourceRecordSets before the cutover',
    throttles: ['ListResourceRecordSets'],
    arm: [{ at: 'LowerTtl', faults: [throttled('ListResourceRecordSets')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits ChangeResourceRecordSets submitting the flip',
    throttles: ['ChangeResourceRecordSets'],
    arm: [{ at: 'FlipRecords', faults: [throttled('ChangeResourceRecordSets')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits GetChange waiting for the flip',
    throttles: ['GetChange'],
    arm: [{ at: 'FlipRecords', faults: [throttled('GetChange')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits DeleteReplicationGroup deleting the source',
    throttles: ['DeleteReplicationGroup'],
    arm: [{ at: 'DeleteSource', faults: [throttled('DeleteReplicationGroup')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits DeleteSnapshot at the end',
    throttles: ['DeleteSnapshot'],
    arm: [{ at: 'CleanUpAndSummarize', faults: [throttled('DeleteSnapshot')] }],
    expect: migrated,
  },
  {
    name: 'a throttling storm hits RemoveTagsFromResource releasing the kept source',
    throttles: ['RemoveTagsFromResource'],
    input: { deleteSource: false },
    arm: [{ at: 'CleanUpAndSummarize', faults: [throttled('RemoveTagsFromResource')] }],
    expect: migrated,
  },
];

/**
 * CloudWatch: the alarms carried over (CopyAlarms, after the flip), the source's removed
 * (DeleteSourceAlarms, after the source is deleted) and the rollback's removal of the copies.
 * The source is watched by two alarms; a third watches another group. A failure before the
 * source is deleted rolls back to the account's alarms as they were; a throttling storm is
 * ridden out by the state's Retry; a failed removal of the source's alarms is reported.
 */
const rejectDeletion = (gate: string) =>
  gate === 'beforeDeleteSource'
    ? { error: 'ApprovalRejectedError', cause: 'rejected by test' }
    : { output: {} };
export const alarmRows: Rows = [
  {
    name: 'DescribeAlarms fails finding the alarms that watch the source',
    fails: ['DescribeAlarms'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [denied('DescribeAlarms', { times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: "CloudWatch's ListTagsForResource fails reading a source alarm's tags",
    fails: ['CloudWatch:ListTagsForResource'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [denied('CloudWatch:ListTagsForResource', { times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: 'PutMetricAlarm fails after the first copy was created',
    fails: ['PutMetricAlarm'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [denied('PutMetricAlarm', { skip: 1, times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: "TagResource fails after the first of the source's alarms was marked for removal",
    fails: ['TagResource'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [denied('TagResource', { skip: 1, times: 1 })] }],
    expect: rolledBack('AccessDenied', true),
  },
  {
    name: 'DeleteAlarms fails once deleting the copies during a rollback (the step is retried)',
    fails: ['DeleteAlarms'],
    alarms: true,
    input: { approvals: { beforeDeleteSource: true } },
    decide: rejectDeletion,
    arm: [{ at: 'RollBackChanges', faults: [denied('DeleteAlarms', { times: 1 })] }],
    expect: rolledBack('ApprovalRejectedError', true),
  },
  {
    name: "UntagResource fails once unmarking the source's alarms during a rollback (the step is retried)",
    fails: ['UntagResource'],
    alarms: true,
    input: { approvals: { beforeDeleteSource: true } },
    decide: rejectDeletion,
    arm: [{ at: 'RollBackChanges', faults: [denied('UntagResource', { times: 1 })] }],
    expect: rolledBack('ApprovalRejectedError', true),
  },
  {
    name: "DeleteAlarms keeps failing removing the source's alarms after the source is deleted",
    fails: ['DeleteAlarms'],
    alarms: true,
    arm: [{ at: 'DeleteSourceAlarms', faults: [denied('DeleteAlarms')] }],
    expect: { end: 'migrated', flipped: true, sourceAlarmsLeft: true },
  },
  {
    name: 'a throttling storm hits DescribeAlarms finding the alarms that watch the source',
    throttles: ['DescribeAlarms'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [throttled('DescribeAlarms')] }],
    expect: { end: 'migrated', flipped: true },
  },
  {
    name: "a throttling storm hits CloudWatch's ListTagsForResource reading a source alarm's tags",
    throttles: ['CloudWatch:ListTagsForResource'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [throttled('CloudWatch:ListTagsForResource')] }],
    expect: { end: 'migrated', flipped: true },
  },
  {
    name: 'a throttling storm hits PutMetricAlarm after the first copy was created',
    throttles: ['PutMetricAlarm'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [throttled('PutMetricAlarm', { skip: 1 })] }],
    expect: { end: 'migrated', flipped: true },
  },
  {
    name: "a throttling storm hits TagResource marking the source's alarms",
    throttles: ['TagResource'],
    alarms: true,
    arm: [{ at: 'CopyAlarms', faults: [throttled('TagResource', { skip: 1 })] }],
    expect: { end: 'migrated', flipped: true },
  },
  {
    name: "a throttling storm hits DeleteAlarms removing the source's alarms",
    throttles: ['DeleteAlarms'],
    alarms: true,
    arm: [{ at: 'DeleteSourceAlarms', faults: [throttled('DeleteAlarms')] }],
    expect: { end: 'migrated', flipped: true },
  },
  {
    name: "a throttling storm hits UntagResource unmarking the source's alarms during a rollback",
    throttles: ['UntagResource'],
    alarms: true,
    input: { approvals: { beforeDeleteSource: true } },
    decide: rejectDeletion,
    arm: [{ at: 'RollBackChanges', faults: [throttled('UntagResource')] }],
    expect: rolledBack('ApprovalRejectedError', true),
  },
];

/** Throttling storms, in two halves so that their SDK back-off pauses overlap in parallel files. */
export const throttlingEarlyRows = throttlingRows.slice(0, 8);
export const throttlingLateRows = throttlingRows.slice(8);

/** Every group of rows, in workflow order. */
export const ALL_ROWS: Rows[] = [
  preflightRows,
  beforeFlipRows,
  cutoverRows,
  rollbackRows,
  afterCutoverRows,
  alarmRows,
  throttlingRows,
];
