import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * The server's half of NTLM over HTTP (MS-NLMP), as IIS does it for Exchange: the CHALLENGE message (Type 2) and the
 * check of the AUTHENTICATE message (Type 3). Only NTLMv2 responses are accepted: the Type 2 asks for extended session
 * security and carries target info, to which httpntlm (the connector's client) answers with NTLMv2, as Windows does;
 * NTLMv1 and NTLM2 session responses are refused, as by a domain that has NTLMv1 switched off.
 *
 * MD4 is not in OpenSSL 3's default provider (`crypto.createHash('md4')` throws), so the NT hash is httpntlm's
 * (`create_NT_hashed_password`, js-md4); the emulator's tests pin it, and the rest, to the test vectors of MS-NLMP 4.2.4.
 */

const require = createRequire(import.meta.url);
const { create_NT_hashed_password: ntHash } = require('httpntlm/ntlm.js') as {
  create_NT_hashed_password(password: string): Buffer;
};

const signature = Buffer.from('NTLMSSP\0', 'latin1');

/** The flags of the Type 2 (MS-NLMP 2.2.2.5): what Exchange's IIS asks for. */
const flags = {
  unicode: 0x00000001,
  requestTarget: 0x00000004,
  ntlm: 0x00000200,
  alwaysSign: 0x00008000,
  targetTypeDomain: 0x00010000,
  extendedSessionSecurity: 0x00080000,
  targetInfo: 0x00800000,
  version: 0x02000000,
  key128: 0x20000000,
  key56: 0x80000000,
} as const;

// Every flag above; `>>> 0` because JavaScript's | is signed 32-bit, and 0x80000000 would make it negative.
const challengeFlags = Object.values(flags).reduce((all, flag) => (all | flag) >>> 0, 0);

/** The message type (1, 2 or 3) of a base64 NTLM token, or undefined for anything that is not one. */
export function messageType(message: Buffer): number | undefined {
  if (message.length < 12 || !message.subarray(0, 8).equals(signature)) return undefined;
  return message.readUInt32LE(8);
}

export interface ServerNames {
  /** NetBIOS domain name (CONTOSO), the Type 2's target name. */
  netbiosDomain: string;
  /** DNS domain name (contoso.test). */
  dnsDomain: string;
  /** NetBIOS computer name (EXH-EMULATOR). */
  computer: string;
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** FILETIME: 100 ns ticks since 1601-01-01. */
function fileTime(ms: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((BigInt(ms) + 11_644_473_600_000n) * 10_000n);
  return out;
}

/** A CHALLENGE message (Type 2) with a fresh random server challenge; the caller binds both to the connection. */
export function createChallenge(names: ServerNames, now: number): { challenge: Buffer; message: Buffer } {
  const challenge = randomBytes(8);
  const target = Buffer.from(names.netbiosDomain, 'utf16le');
  const info = Buffer.concat([
    avPair(2, Buffer.from(names.netbiosDomain, 'utf16le')),
    avPair(1, Buffer.from(names.computer, 'utf16le')),
    avPair(4, Buffer.from(names.dnsDomain, 'utf16le')),
    avPair(3, Buffer.from(`${names.computer.toLowerCase()}.${names.dnsDomain}`, 'utf16le')),
    avPair(7, fileTime(now)),
    avPair(0, Buffer.alloc(0)),
  ]);
  const header = Buffer.alloc(56);
  signature.copy(header, 0);
  header.writeUInt32LE(2, 8);
  header.writeUInt16LE(target.length, 12);
  header.writeUInt16LE(target.length, 14);
  header.writeUInt32LE(56, 16);
  header.writeUInt32LE(challengeFlags, 20);
  challenge.copy(header, 24);
  header.writeUInt16LE(info.length, 40);
  header.writeUInt16LE(info.length, 42);
  header.writeUInt32LE(56 + target.length, 44);
  // Version: Windows 10.0 build 17763 (Server 2019), NTLM revision 15.
  header.writeUInt8(10, 48);
  header.writeUInt8(0, 49);
  header.writeUInt16LE(17763, 50);
  header.writeUInt8(15, 55);
  return { challenge, message: Buffer.concat([header, target, info]) };
}

export interface Authenticate {
  user: string;
  domain: string;
  workstation: string;
  ntResponse: Buffer;
}

/** The fields of an AUTHENTICATE message (Type 3), or undefined when it is malformed. */
export function parseAuthenticate(message: Buffer): Authenticate | undefined {
  if (messageType(message) !== 3 || message.length < 64) return undefined;
  const field = (at: number): Buffer | undefined => {
    const length = message.readUInt16LE(at);
    const offset = message.readUInt32LE(at + 4);
    return offset + length <= message.length ? message.subarray(offset, offset + length) : undefined;
  };
  const unicode = (message.readUInt32LE(60) & flags.unicode) !== 0;
  const text = (buffer: Buffer) => buffer.toString(unicode ? 'utf16le' : 'latin1');
  const ntResponse = field(20);
  const domain = field(28);
  const user = field(36);
  const workstation = field(44);
  if (!ntResponse || !domain || !user || !workstation) return undefined;
  return { user: text(user), domain: text(domain), workstation: text(workstation), ntResponse };
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]) => {
  const hmac = createHmac('md5', key);
  for (const part of data) hmac.update(part);
  return hmac.digest();
};

/** NTOWFv2 = HMAC-MD5(MD4(UTF-16LE password), UTF-16LE(upper(user) + domain)), with user and domain as sent. */
export function ntowfV2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(ntHash(password), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/**
 * Whether an NTLMv2 response proves the password: NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge + blob) must equal
 * the response's first 16 bytes. A 24-byte response is NTLMv1 (or NTLM2 session) and is refused.
 */
export function verifyNtlmV2(
  answer: Pick<Authenticate, 'user' | 'domain' | 'ntResponse'>,
  serverChallenge: Buffer,
  password: string,
): boolean {
  const { ntResponse } = answer;
  // 16 bytes of proof, then the blob: RespType 1, HiRespType 1, reserved, time, client challenge, ...
  if (ntResponse.length < 16 + 28 || ntResponse[16] !== 1 || ntResponse[17] !== 1) return false;
  const proof = ntResponse.subarray(0, 16);
  const blob = ntResponse.subarray(16);
  const expected = hmacMd5(ntowfV2(password, answer.user, answer.domain), serverChallenge, blob);
  return timingSafeEqual(proof, expected);
}
