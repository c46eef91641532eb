import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { setBackupNode } from '../migration/backup-node.js';
import { checkRestore, startRestore } from '../migration/restore.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}), secrets: new SecretsManagerClient({}) };

export const handler = stepHandler('restore', {
  start: (state) => startRestore(state, clients),
  check: (state) => checkRestore(state, clients),
  'backup-node': (state) => setBackupNode(state, clients),
});
