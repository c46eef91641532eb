import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ReplicationGroup } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { type Configuration, env } from '../shared/env.js';
import { DataVerificationError, DnsCutoverMismatchError } from '../shared/errors.js';
import type { RedisEndpointSpec } from '../verifier/index.js';
import { endpointOf, findGroup } from './aws.js';
import { checkDeadline, clearDeadline, requirePlan, setDeadline } from './progress.js';
import type { MigrationState } from './state.js';

/**
 * Where the verify-data function finds Redis. In AWS it runs in the VPC and needs none of this:
 * the VPC resolver answers for the endpoints and for private hosted zones, and ElastiCache's
 * certificates chain to public CAs. Both can be overridden for other networks (and the sandbox):
 * `DNS_SERVERS` (comma-separated `host:port` name servers) and `REDIS_TLS_CA_FILE` (PEM to trust).
 */
export interface NetworkSettings {
  dnsServers: string[];
  caPem?: string;
}

export function networkSettings(configuration: Configuration = env): NetworkSettings {
  return { dnsServers: configuration.dnsServers, caPem: configuration.redisTlsCaPem };
}

export type DataPathDeps = Pick<Clients, 'elasticache' | 'secrets'> & {
  network: NetworkSettings;
  timeBudgetMs: number;
};
type Deps = DataPathDeps;

export function resolverFor(network: NetworkSettings): Resolver | undefined {
  if (network.dnsServers.length === 0) return undefined;
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers(network.dnsServers);
  return resolver;
}

async function addressesOf(host: string, resolver: Resolver | undefined): Promise<string[]> {
  if (isIP(host)) return [host];
  if (resolver) return resolver.resolve4(host);
  const { lookup } = await import('node:dns/promises');
  return (await lookup(host, { all: true, family: 4 })).map((a) => a.address);
}

export async function endpointSpec(
  group: ReplicationGroup,
  authToken: string | undefined,
  network: NetworkSettings,
  resolver: Resolver | undefined,
): Promise<RedisEndpointSpec> {
  const clusterMode = group.ClusterEnabled === true;
  const endpoint = clusterMode ? group.ConfigurationEndpoint : group.NodeGroups?.[0]?.PrimaryEndpoint;
  if (!endpoint?.Address || !endpoint.Port) {
    throw new DataVerificationError(
      `Replication group '${group.ReplicationGroupId}' has no endpoint to connect to.`,
    );
  }
  const tls = group.TransitEncryptionEnabled === true;
  // Connect to the address, but verify TLS against the endpoint's host name, as clients do.
  const [address] = await addressesOf(endpoint.Address, resolver);
  return {
    host: address ?? endpoint.Address,
    port: endpoint.Port,
    tls,
    servername: tls ? endpoint.Address : undefined,
    caPem: tls ? network.caPem : undefined,
    authToken,
    clusterMode,
  };
}

/**
 * After the flip: resolves every moved record the way clients do (through the resolver of the
 * network this function runs in) and checks it leads to the new group. Resolvers may serve the
 * old answer until its TTL runs out, so a miss is retried until the deadline.
 */
export async function resolveRecords(
  state: MigrationState,
  deps: Omit<Deps, 'secrets' | 'timeBudgetMs'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  const target = await findGroup(deps.elasticache, plan.target.id);
  if (!target) throw new DnsCutoverMismatchError(`The new group '${plan.target.id}' no longer exists.`);
  const longestTtl = Math.max(0, ...plan.dns.map((r) => r.lowerTtlTo ?? r.originalTtl));
  setDeadline(state, 'resolve', longestTtl + plan.options.timeouts.dnsChangeSeconds, now);
  const resolver = resolverFor(deps.network);
  const wrong: string[] = [];
  for (const record of plan.dns) {
    const host = endpointOf(target, record.endpoint);
    const [seen, expected] = await Promise.all([
      addressesOf(record.recordName.replace(/\.$/, ''), resolver).catch((e: Error): string[] => [
        `(${e.message})`,
      ]),
      host ? addressesOf(host, resolver).catch((): string[] => []) : Promise.resolve<string[]>([]),
    ]);
    if (expected.length === 0 || seen.some((a) => !expected.includes(a))) {
      wrong.push(
        `${record.recordName} resolves to ${seen.join(', ') || 'nothing'}, the new group's ${record.endpoint} endpoint to ${expected.join(', ') || 'nothing'}`,
      );
    }
  }
  if (wrong.length === 0) {
    state.progress.dnsResolved = true;
    clearDeadline(state, 'resolve');
    return state;
  }
  try {
    checkDeadline(state, 'resolve', now, 'Resolving the moved records to the new group');
  } catch {
    throw new DnsCutoverMismatchError(`Clients are not sent to the new group:\n- ${wrong.join('\n- ')}`);
  }
  state.progress.dnsResolved = false;
  return state;
}
