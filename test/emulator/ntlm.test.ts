import http from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ntowfV2, parseAuthenticate, verifyNtlmV2 } from '../../emulator/ntlm.js';
import { basic, envelopeOf, startTestEmulator } from './support/harness.js';

/**
 * NTLM as the emulator accepts it: the Type 3 is checked against the password for real (NTLMv2), against the
 * challenge sent on the same TCP connection, and the connection then stays logged on. The client messages are
 * httpntlm's, as the connector sends them.
 */

interface Challenge {
  serverChallenge: Buffer;
  negotiateFlags: number;
  targetInfo?: Buffer;
}
const ntlm = createRequire(import.meta.url)('httpntlm/ntlm.js') as {
  createType1Message(options: { domain: string; workstation: string }): string;
  parseType2Message(header: string, onError: (error: Error) => void): Challenge | null;
  createType3Message(challenge: Challenge, options: Record<string, string>): string;
};

const alice = 'alice@contoso.test';
const emulator = await startTestEmulator();
const getCalendar = envelopeOf(
  '<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID>' +
    `<t:SmtpAddress>${alice}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`,
  '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>' +
    '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>',
);

interface Answer {
  status: number;
  wwwAuthenticate: string | undefined;
  body: string;
  socket: Socket;
}

/** One client TCP connection: a keep-alive agent with a single socket, requests one after the other. */
function connection() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  afterAll(() => agent.destroy());
  return (authorization: string | undefined, body = getCalendar) =>
    new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' };
      if (authorization) headers.authorization = authorization;
      const request = http.request(emulator.url, { method: 'POST', agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            wwwAuthenticate: response.headers['www-authenticate'],
            body: Buffer.concat(chunks).toString('utf8'),
            socket: request.socket as Socket,
          }),
        );
      });
      request.on('error', reject);
      request.end(body);
    });
}

function type3(challengeHeader: string | undefined, user: string, domain: string, password = emulator.password) {
  const challenge = ntlm.parseType2Message(challengeHeader ?? '', (error) => {
    throw error;
  });
  if (!challenge) throw new Error('no challenge');
  return ntlm.createType3Message(challenge, { username: user, domain, password, workstation: '' });
}

const negotiate = ntlm.createType1Message({ domain: 'CONTOSO', workstation: '' });
const succeeded = (answer: Answer) => answer.status === 200 && answer.body.includes('ResponseClass="Success"');

describe('the NTLMv2 check (MS-NLMP 4.2.4 test vectors)', () => {
  // User "User", domain "Domain", password "Password"; server challenge 0123456789abcdef, client challenge aa…,
  // time 0, target info NbDomainName "Domain", NbComputerName "Server".
  const serverChallenge = Buffer.from('0123456789abcdef', 'hex');
  const targetInfo = Buffer.concat([
    Buffer.from('02000c00', 'hex'),
    Buffer.from('Domain', 'utf16le'),
    Buffer.from('01000c00', 'hex'),
    Buffer.from('Server', 'utf16le'),
    Buffer.from('00000000', 'hex'),
  ]);
  const blob = Buffer.concat([
    Buffer.from('0101000000000000', 'hex'),
    Buffer.alloc(8),
    Buffer.alloc(8, 0xaa),
    Buffer.alloc(4),
    targetInfo,
    Buffer.alloc(4),
  ]);
  const proof = Buffer.from('68cd0ab851e51c96aabc927bebef6a1c', 'hex');
  const answer = { user: 'User', domain: 'Domain', ntResponse: Buffer.concat([proof, blob]) };

  it('computes NTOWFv2 as the specification does (MD4 included)', () => {
    expect(ntowfV2('Password', 'User', 'Domain').toString('hex')).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('accepts the specification’s NTProofStr and refuses it for another password or challenge', () => {
    expect(verifyNtlmV2(answer, serverChallenge, 'Password')).toBe(true);
    expect(verifyNtlmV2(answer, serverChallenge, 'Passw0rd')).toBe(false);
    expect(verifyNtlmV2(answer, Buffer.from('0123456789abcdee', 'hex'), 'Password')).toBe(false);
  });

  it('refuses a 24-byte (NTLMv1) response', () => {
    expect(verifyNtlmV2({ ...answer, ntResponse: Buffer.alloc(24, 1) }, serverChallenge, 'Password')).toBe(false);
  });
});

describe('NTLM on EWS', () => {
  it('offers Basic and NTLM to a request without credentials', async () => {
    const answer = await connection()(undefined);
    expect(answer.status).toBe(401);
    expect(answer.wwwAuthenticate).toBe('Basic realm="exh emulator", NTLM');
  });

  it('answers a Type 1 with a challenge that gets an NTLMv2 response from httpntlm', async () => {
    const answer = await connection()(negotiate);
    expect(answer.status).toBe(401);
    expect(answer.wwwAuthenticate).toMatch(/^NTLM [A-Za-z0-9+/]+=*$/);
    const challenge = ntlm.parseType2Message(answer.wwwAuthenticate ?? '', () => {});
    expect(challenge?.serverChallenge).toHaveLength(8);
    expect(challenge?.targetInfo?.length).toBeGreaterThan(0);
    const sent = parseAuthenticate(
      Buffer.from(type3(answer.wwwAuthenticate, 'exh-service', 'CONTOSO').slice(5), 'base64'),
    );
    // NTLMv2: 16 bytes of proof and a blob, not the 24 bytes of NTLMv1.
    expect(sent?.ntResponse.length).toBeGreaterThan(24);
    expect(sent).toMatchObject({ user: 'exh-service', domain: 'CONTOSO' });
  });

  it('logs the connection on with a correct Type 3 (DOMAIN\\user), and keeps it logged on', async () => {
    const send = connection();
    const challenged = await send(negotiate, '');
    const answer = await send(type3(challenged.wwwAuthenticate, 'exh-service', 'CONTOSO'));
    expect(answer.socket).toBe(challenged.socket);
    expect(succeeded(answer)).toBe(true);
    // Later requests on that connection carry no header at all.
    const later = await send(undefined);
    expect(later.socket).toBe(challenged.socket);
    expect(succeeded(later)).toBe(true);
    // Another connection is not logged on.
    expect((await connection()(undefined)).status).toBe(401);
  });

  it('logs on with a UPN and an empty domain', async () => {
    const send = connection();
    const challenged = await send(negotiate, '');
    expect(succeeded(await send(type3(challenged.wwwAuthenticate, emulator.serviceAccount, '')))).toBe(true);
  });

  it('answers 401 to a Type 3 made with a wrong password, and the connection stays logged off', async () => {
    const send = connection();
    const challenged = await send(negotiate, '');
    const answer = await send(type3(challenged.wwwAuthenticate, 'exh-service', 'CONTOSO', 'not-the-password'));
    expect(answer.socket).toBe(challenged.socket);
    expect(answer.status).toBe(401);
    expect((await send(undefined)).status).toBe(401);
  });

  it('answers 401 to a Type 3 sent on another connection than its challenge', async () => {
    const challenged = await connection()(negotiate, '');
    const other = connection();
    const answer = await other(type3(challenged.wwwAuthenticate, 'exh-service', 'CONTOSO'));
    expect(answer.socket).not.toBe(challenged.socket);
    expect(answer.status).toBe(401);
  });

  it('answers 401 to an unknown account with the right password', async () => {
    const send = connection();
    const challenged = await send(negotiate, '');
    expect((await send(type3(challenged.wwwAuthenticate, 'mallory', 'CONTOSO'))).status).toBe(401);
  });

  it('still takes Basic on every request', async () => {
    expect(succeeded(await connection()(basic(emulator.serviceAccount, emulator.password)))).toBe(true);
  });
});
