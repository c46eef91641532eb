import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** The table the handlers claim sources in (MIGRATIONS_TABLE_NAME), as infra/ defines it. */
export const SANDBOX_MIGRATIONS_TABLE = 'at-rest-migrator-migrations';

/** One claim item as stored (attribute values unwrapped). */
export type ClaimItem = Record<string, string>;

/**
 * DynamoDB for the sandbox: dynalite (a DynamoDB implementation on LevelDB, here in memory)
 * on its own loopback port, so conditional writes behave as DynamoDB's do and nothing of their
 * logic is written here. The handlers reach it through `AWS_ENDPOINT_URL_DYNAMODB`.
 * `reset()` replaces the database with an empty one (the migrations table created again) on the
 * same port, since the handlers' clients keep the endpoint they were created with.
 */
export class SandboxDynamoDb {
  private server?: Server;
  private readonly client: DynamoDBClient;

  private constructor(
    readonly endpoint: string,
    private readonly port: number,
    readonly region: string,
  ) {
    this.client = new DynamoDBClient({
      endpoint,
      region,
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
  }

  static async start(region: string): Promise<SandboxDynamoDb> {
    const server = await listen(0);
    const port = (server.address() as AddressInfo).port;
    const db = new SandboxDynamoDb(`http://127.0.0.1:${port}`, port, region);
    db.server = server;
    try {
      await db.createTable();
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }

  readonly tableName = SANDBOX_MIGRATIONS_TABLE;

  /** Every item of the migrations table, sorted by partition key. */
  async claims(): Promise<ClaimItem[]> {
    const out = await this.client.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true }));
    return (out.Items ?? [])
      .map((item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? JSON.stringify(v)])))
      .sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
  }

  async reset(): Promise<void> {
    await this.closeServer();
    this.server = await listen(this.port);
    await this.createTable();
  }

  async close(): Promise<void> {
    await this.closeServer();
    this.client.destroy();
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** As infra/ defines it: partition key `pk` (the source group's ARN), on demand. */
  private async createTable(): Promise<void> {
    await this.client.send(
      new CreateTableCommand({
        TableName: this.tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitUntilTableExists(
      { client: this.client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { TableName: this.tableName },
    );
  }
}

async function listen(port: number): Promise<Server> {
  // Tables become ACTIVE at once (dynalite's default keeps them CREATING for 500 ms).
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
