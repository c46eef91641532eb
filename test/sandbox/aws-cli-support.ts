/**
 * Runs the AWS CLI v2 (`/usr/bin/aws`, Debian's awscli 2.9) against a sandbox: an independent
 * client (botocore, not the JS SDK) proves the wire format. CI installs awscli; a missing binary
 * fails the test loudly instead of skipping it. The CLI of 2.9 does not read AWS_ENDPOINT_URL
 * (docs/aws-behaviour.md: Independent clients), so `--endpoint-url` is passed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Sandbox } from '../../sandbox/index.js';

export const AWS_CLI = '/usr/bin/aws';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json?: Record<string, unknown>;
}

/**
 * Runs `aws <args> --endpoint-url … --region … --output json` with dummy credentials; `endpoint`
 * for a service on its own port (DynamoDB: `sandbox.dynamodb.endpoint`).
 */
export function awsCli(
  sandbox: Pick<Sandbox, 'endpoint' | 'region'>,
  args: string[],
  options: { endpoint?: string } = {},
): Promise<CliResult> {
  if (!existsSync(AWS_CLI))
    throw new Error(
      `${AWS_CLI} is missing: install the AWS CLI v2 (apt-get install awscli); these tests need it`,
    );
  return new Promise((resolve) => {
    execFile(
      AWS_CLI,
      [
        ...args,
        '--endpoint-url',
        options.endpoint ?? sandbox.endpoint,
        '--region',
        sandbox.region,
        '--output',
        'json',
      ],
      {
        timeout: 60_000,
        // An execution's history with its data runs past execFile's default 1 MiB when a busy
        // machine makes the workflow poll more often; past the limit the CLI was killed and the
        // test saw exit 1 with an empty stderr.
        maxBuffer: 256 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          AWS_ACCESS_KEY_ID: 'sandbox',
          AWS_SECRET_ACCESS_KEY: 'sandbox',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_PAGER: '',
          AWS_MAX_ATTEMPTS: '1',
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let json: Record<string, unknown> | undefined;
        try {
          json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
        } catch {
          json = undefined;
        }
        // Killed (timeout, output limit) or not started: say why where a failing test looks.
        const why = error && typeof error.code !== 'number' ? `\n${error.message}` : '';
        resolve({ code, stdout, stderr: stderr + why, ...(json ? { json } : {}) });
      },
    );
  });
}
