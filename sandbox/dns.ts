/**
 * The sandbox's DNS server, on 127.0.0.1 (UDP and TCP, one ephemeral port): it answers, as an
 * authoritative server, from the Route 53 hosted zones' current records and from the ElastiCache
 * endpoint host names of existing groups, so a client resolving an application CNAME lands on the
 * node addresses of the group it points at, and follows a flip.
 *
 * - Names in a hosted zone: the record sets of the name (A, AAAA, CNAME, TXT, NS, SOA, MX, SRV,
 *   PTR), following CNAMEs through the sandbox's zones and into endpoint names; NOERROR without
 *   data when the name has other types or names below it; NXDOMAIN when it does not exist, with
 *   the zone's SOA as authority (RFC 2308). Changes are served as soon as ChangeResourceRecordSets
 *   accepts them, not when GetChange says INSYNC: Route 53's own servers usually answer with a
 *   change within seconds, before INSYNC is reported, and TestDNSAnswer answers from the same
 *   records. A client that waits for INSYNC is therefore never early here.
 * - ElastiCache endpoint names (`*.cache.amazonaws.com`): A records of the node addresses (see
 *   `ElastiCacheStore.endpointAddresses`); NXDOMAIN for names of no existing group.
 * - Anything else: REFUSED (the server is authoritative only, it does not recurse).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import type { ElastiCacheStore } from './services/elasticache/store.js';
import { normalizeName, type RecordSet, type Route53Store } from './services/route53.js';

/** The stores a query is answered from (read at query time: a reset replaces them). */
export interface DnsData {
  route53: Route53Store;
  elasticache: ElastiCacheStore;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;

/**
 * TTL of endpoint A records. ElastiCache's own value is not documented; short, so a client
 * that caches still sees replaced nodes soon (the sandbox's choice).
 */
export const ENDPOINT_TTL = 15;
const ENDPOINT_DOMAIN = '.cache.amazonaws.com.';
const MAX_CHAIN = 8;
/** Largest UDP answer without EDNS (RFC 1035 §4.2.1), and the EDNS size this server offers. */
const UDP_PLAIN_LIMIT = 512;
const UDP_EDNS_LIMIT = 1232;

interface Outcome {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
}

/** Answers one query packet. Exported for tests of the answer logic without a socket. */
export function answerQuery(query: DecodedPacket, data: DnsData): Packet {
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  const question = query.questions?.[0];
  let outcome: Outcome;
  if (opcode !== 0) outcome = { rcode: 'NOTIMP', answers: [], authorities: [] };
  else if (!question || (query.questions?.length ?? 0) !== 1)
    outcome = { rcode: 'FORMERR', answers: [], authorities: [] };
  else if ((question.class ?? 'IN') !== 'IN') outcome = { rcode: 'REFUSED', answers: [], authorities: [] };
  else {
    try {
      outcome = resolve(normalizeName(question.name), question.type, data);
    } catch {
      outcome = { rcode: 'SERVFAIL', answers: [], authorities: [] };
    }
  }
  const recursionDesired = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const edns = query.additionals?.some((a) => a.type === 'OPT');
  return {
    type: 'response',
    id: query.id,
    flags:
      (outcome.rcode === 'REFUSED' ? 0 : dnsPacket.AUTHORITATIVE_ANSWER) |
      recursionDesired |
      RCODE[outcome.rcode],
    questions: query.questions ?? [],
    answers: outcome.answers,
    authorities: outcome.authorities,
    additionals: edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: UDP_EDNS_LIMIT,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  };
}

function resolve(name: string, type: string, data: DnsData): Outcome {
  const answers: Answer[] = [];
  let current = name;
  for (let hop = 0; hop < MAX_CHAIN; hop++) {
    if (current.endsWith(ENDPOINT_DOMAIN)) {
      const addresses = data.elasticache.endpointAddresses(current);
      if (addresses === undefined) return { rcode: 'NXDOMAIN', answers, authorities: [] };
      if (type === 'A') {
        for (const address of addresses)
          answers.push({ type: 'A', name: bare(current), ttl: ENDPOINT_TTL, data: address });
      }
      return { rcode: 'NOERROR', answers, authorities: [] };
    }
    const zone = data.route53.zoneFor(current);
    // A target outside every zone: the client's resolver follows it elsewhere.
    if (!zone) return { rcode: hop === 0 ? 'REFUSED' : 'NOERROR', answers, authorities: [] };
    const direct = data.route53.lookup(current, type);
    if (direct) {
      answers.push(...toAnswers(direct));
      return { rcode: 'NOERROR', answers, authorities: [] };
    }
    const cname = type === 'CNAME' ? undefined : data.route53.lookup(current, 'CNAME');
    const target = cname?.values[0];
    if (!cname || !target) {
      // RFC 6604: the response code is that of the last name in the chain.
      const exists = data.route53
        .recordSets(zone.id)
        .some((r) => r.name === current || r.name.endsWith(`.${current}`));
      const soa = data.route53.lookup(zone.name, 'SOA');
      return { rcode: exists ? 'NOERROR' : 'NXDOMAIN', answers, authorities: soa ? toAnswers(soa) : [] };
    }
    answers.push(...toAnswers(cname));
    current = normalizeName(target);
  }
  // A CNAME loop or an overlong chain.
  return { rcode: 'SERVFAIL', answers: [], authorities: [] };
}

const bare = (name: string) => (name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name);

/** A record set as DNS answers (types whose data this server cannot encode are left out). */
function toAnswers(set: RecordSet): Answer[] {
  const name = bare(set.name);
  const ttl = set.ttl;
  return set.values.flatMap((value): Answer[] => {
    switch (set.type) {
      case 'A':
      case 'AAAA':
        return [{ type: set.type, name, ttl, data: value }];
      case 'CNAME':
      case 'NS':
      case 'PTR':
        return [{ type: set.type, name, ttl, data: bare(value.trim()) }];
      case 'TXT':
      case 'SPF':
        return [{ type: 'TXT', name, ttl, data: txtStrings(value) }];
      case 'MX': {
        const [preference, exchange] = value.trim().split(/\s+/);
        return [
          { type: 'MX', name, ttl, data: { preference: Number(preference), exchange: bare(exchange ?? '') } },
        ];
      }
      case 'SRV': {
        const [priority, weight, port, target] = value.trim().split(/\s+/);
        return [
          {
            type: 'SRV',
            name,
            ttl,
            data: {
              priority: Number(priority),
              weight: Number(weight),
              port: Number(port),
              target: bare(target ?? ''),
            },
          },
        ];
      }
      case 'SOA': {
        const [mname, rname, serial, refresh, retry, expire, minimum] = value.trim().split(/\s+/);
        return [
          {
            type: 'SOA',
            name,
            ttl,
            data: {
              mname: bare(mname ?? ''),
              rname: bare(rname ?? ''),
              serial: Number(serial),
              refresh: Number(refresh),
              retry: Number(retry),
              expire: Number(expire),
              minimum: Number(minimum),
            },
          },
        ];
      }
      default:
        return [];
    }
  });
}

/**
 * A TXT value as Route 53 takes it: one or more quoted strings (`"a" "b"`), with `\"`, `\\` and
 * `\ddd` (octal) escapes; an unquoted value is one string.
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#TXTFormat
 */
export function txtStrings(value: string): Buffer[] {
  const quoted = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)];
  const texts = quoted.length > 0 ? quoted.map((m) => m[1] ?? '') : [value];
  return texts.map((text) => {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const octal = /^\\([0-7]{3})/.exec(text.slice(i));
      if (octal?.[1]) {
        bytes.push(Number.parseInt(octal[1], 8) & 0xff);
        i += 3;
      } else if (text[i] === '\\' && i + 1 < text.length) {
        i++;
        bytes.push(...Buffer.from(text[i] ?? ''));
      } else {
        bytes.push(...Buffer.from(text[i] ?? ''));
      }
    }
    return Buffer.from(bytes);
  });
}

/** Encodes a response for UDP: answers that do not fit are dropped and TC set (RFC 2181 §9). */
function encodeForUdp(response: Packet, limit: number): Buffer {
  const full = dnsPacket.encode(response);
  if (full.length <= limit) return full;
  return dnsPacket.encode({
    ...response,
    flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
  });
}

/** A running DNS server; `address` is what `Resolver.setServers` takes. */
export class SandboxDnsServer {
  private readonly connections = new Set<Socket>();

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly port: number,
    private readonly data: () => DnsData,
  ) {
    udp.on('message', (message, remote) => {
      const reply = this.handle(message, true);
      if (reply) udp.send(reply, remote.port, remote.address);
    });
    tcp.on('connection', (socket) => this.serveTcp(socket));
  }

  /** `127.0.0.1:PORT`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1, UDP and TCP on the same port (`0`: a free one). */
  static async start(data: () => DnsData, port = 0): Promise<SandboxDnsServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const udp = createSocket('udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(port, '127.0.0.1', () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        udp.close();
        throw error;
      }
      const bound = udp.address().port;
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: '127.0.0.1', port: bound, exclusive: true }, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        udp.close();
        lastError = error;
        // An ephemeral UDP port whose TCP twin is taken: try another.
        if (port === 0 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw error;
      }
      udp.unref();
      tcp.unref();
      return new SandboxDnsServer(udp, tcp, bound, data);
    }
    throw lastError;
  }

  private handle(message: Buffer, overUdp: boolean): Buffer | undefined {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      // Not a DNS message: answer FORMERR if at least the id can be read, as servers do.
      if (message.length < 2) return undefined;
      return dnsPacket.encode({ type: 'response', id: message.readUInt16BE(0), flags: RCODE.FORMERR });
    }
    if (query.type !== 'query') return undefined;
    const response = answerQuery(query, this.data());
    if (!overUdp) return dnsPacket.encode(response);
    const opt = query.additionals?.find((a) => a.type === 'OPT');
    const limit = opt
      ? Math.min(Math.max(opt.udpPayloadSize, UDP_PLAIN_LIMIT), UDP_EDNS_LIMIT)
      : UDP_PLAIN_LIMIT;
    return encodeForUdp(response, limit);
  }

  /** DNS over TCP: messages framed by a two-byte length (RFC 1035 §4.2.2). */
  private serveTcp(socket: Socket): void {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const reply = this.handle(buffered.subarray(2, 2 + length), false);
        buffered = buffered.subarray(2 + length);
        if (reply) {
          const frame = Buffer.alloc(2);
          frame.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([frame, reply]));
        }
      }
    });
  }

  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }
}
