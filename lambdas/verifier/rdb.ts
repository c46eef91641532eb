/**
 * Just enough of the RDB serialization (what DUMP returns) to compare two hashtable-encoded
 * hashes or sets without reading them again.
 *
 * A DUMP payload is the RDB type byte, the object, the 2-byte RDB version and an 8-byte CRC64.
 * A hashtable set (type 2) is a length and that many strings; a hashtable hash (type 4) is a
 * length and that many field/value string pairs. The elements come in the dict's iteration order,
 * which differs between two servers holding equal data (docs/aws-behaviour.md: DUMP bytes differ), but each
 * element is serialized by a deterministic function of its bytes (integer encoding, then LZF when
 * it saves space). So two payloads whose element encodings are the same multiset hold equal
 * contents. Elements are cut out of the payload, never decoded: no LZF here.
 *
 * The converse does not hold (engines could one day encode equal strings differently), so a
 * `false` here only sends the key to the comparison by contents. Redis's rdb.c (rdbLoadLenByRef,
 * rdbGenericLoadStringObject) is the reference for the length and string encodings.
 */
import { sameMembers } from './compare.js';

const RDB_TYPE_SET = 2;
const RDB_TYPE_HASH = 4;
/** RDB version (2 bytes) and CRC64 (8 bytes) end every DUMP payload. */
const TRAILER = 10;

/** Reads an RDB length at `offset`: [value, next offset], or undefined for an encoded value. */
function readLength(payload: Buffer, offset: number): [number, number] | undefined {
  const first = payload[offset];
  if (first === undefined) return undefined;
  switch (first >> 6) {
    case 0:
      return [first & 0x3f, offset + 1];
    case 1: {
      const second = payload[offset + 1];
      return second === undefined ? undefined : [((first & 0x3f) << 8) | second, offset + 2];
    }
    case 2:
      if (first === 0x80 && offset + 5 <= payload.length)
        return [payload.readUInt32BE(offset + 1), offset + 5];
      if (first === 0x81 && offset + 9 <= payload.length) {
        const value = payload.readBigUInt64BE(offset + 1);
        return value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : [Number(value), offset + 9];
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Offset just past the RDB string at `offset`, or undefined when it does not parse. */
function skipString(payload: Buffer, offset: number): number | undefined {
  const first = payload[offset];
  if (first === undefined) return undefined;
  if (first >> 6 !== 3) {
    const length = readLength(payload, offset);
    return length === undefined ? undefined : length[1] + length[0];
  }
  switch (first & 0x3f) {
    case 0: // 8-bit integer
      return offset + 2;
    case 1: // 16-bit integer
      return offset + 3;
    case 2: // 32-bit integer
      return offset + 5;
    case 3: {
      // LZF: compressed length, uncompressed length, compressed bytes
      const compressed = readLength(payload, offset + 1);
      if (compressed === undefined) return undefined;
      const uncompressed = readLength(payload, compressed[1]);
      return uncompressed === undefined ? undefined : uncompressed[1] + compressed[0];
    }
    default:
      return undefined;
  }
}

/**
 * The encoded elements of a hashtable set (members) or hash (field and value together), as
 * latin1 strings of their bytes; undefined when the payload is of another type or does not parse
 * to exactly its declared count and length.
 */
export function unorderedElements(payload: Buffer): string[] | undefined {
  const type = payload[0];
  if (type !== RDB_TYPE_SET && type !== RDB_TYPE_HASH) return undefined;
  const header = readLength(payload, 1);
  if (header === undefined) return undefined;
  const [count, start] = header;
  const end = payload.length - TRAILER;
  const stringsPerElement = type === RDB_TYPE_HASH ? 2 : 1;
  const elements: string[] = [];
  let offset = start;
  for (let i = 0; i < count; i++) {
    let next: number | undefined = offset;
    for (let s = 0; s < stringsPerElement && next !== undefined; s++) next = skipString(payload, next);
    if (next === undefined || next > end) return undefined;
    elements.push(payload.toString('latin1', offset, next));
    offset = next;
  }
  return offset === end ? elements : undefined;
}

/**
 * Whether two DUMP payloads of hashtable sets or hashes prove equal contents: same type and the
 * same encoded elements in any order. `false` proves nothing (see above); `undefined`: a payload
 * is not such a set or hash.
 */
export function sameUnorderedPayloads(a: Buffer, b: Buffer): boolean | undefined {
  if (a[0] !== b[0]) return a[0] === RDB_TYPE_SET || a[0] === RDB_TYPE_HASH ? false : undefined;
  const left = unorderedElements(a);
  const right = unorderedElements(b);
  if (left === undefined || right === undefined) return undefined;
  // Members (and fields) are unique within one key, so are their encodings.
  return sameMembers(left, right);
}
