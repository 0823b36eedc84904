import { describe, expect, it } from 'vitest';
import { originOf, startGraphEmulator } from './support-e2/graph.js';

/**
 * Autodiscover v2 as the emulator serves it (emulator/graph/autodiscover-v2.ts), over real HTTP: Exchange Online's EWS
 * URL for a cloud mailbox (the connector then uses Graph), the emulator's own EWS URL for a mailbox marked on
 * premises, and the errors of the JSON service.
 */

describe('Autodiscover v2', async () => {
  const emulator = await startGraphEmulator({
    mailboxes: ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'],
  });
  const base = `${originOf(emulator)}/autodiscover/autodiscover.json`;

  async function ask(path: string): Promise<{ status: number; type: string | null; body: Record<string, string> }> {
    const response = await fetch(`${originOf(emulator)}${path}`);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Record<string, string>,
    };
  }

  it("names Exchange Online's EWS URL for a mailbox in the cloud, anonymously", async () => {
    const answer = await ask('/autodiscover/autodiscover.json?Email=alice@contoso.test&Protocol=EWS');
    expect(answer.status).toBe(200);
    expect(answer.type).toContain('application/json');
    expect(answer.body).toEqual({ Protocol: 'EWS', Url: 'https://outlook.office365.com/EWS/Exchange.asmx' });
  });

  it("names the emulator's own EWS URL for a mailbox marked on premises, and Exchange Online's again when unmarked", async () => {
    expect(emulator.admin.markOnPremises('bob@contoso.test')).toEqual({
      address: 'bob@contoso.test',
      onPremises: true,
    });
    expect((await ask('/autodiscover/autodiscover.json?Email=Bob@Contoso.test&Protocol=EWS')).body).toEqual({
      Protocol: 'EWS',
      Url: emulator.url,
    });
    expect(emulator.admin.graphApp().onPremisesMailboxes).toEqual(['bob@contoso.test']);
    emulator.admin.markOnPremises('bob@contoso.test', false);
    expect((await ask('/autodiscover/autodiscover.json?Email=bob@contoso.test&Protocol=EWS')).body.Url).toBe(
      'https://outlook.office365.com/EWS/Exchange.asmx',
    );
  });

  it('is marked on premises through the admin HTTP API too', async () => {
    const response = await fetch(`${emulator.adminUrl}/mailboxes/carol@contoso.test/on-premises`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.serviceAccount}:${emulator.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ onPremises: true }),
    });
    expect(response.status).toBe(200);
    expect((await ask('/autodiscover/autodiscover.json/v1.0/carol@contoso.test?Protocol=EWS')).body.Url).toBe(
      emulator.url,
    );
    expect(() => emulator.admin.markOnPremises('nobody@contoso.test')).toThrow(/No mailbox/);
  });

  it('answers the path form (/v1.0/{email}) and other protocols as Exchange Online does', async () => {
    expect((await ask('/autodiscover/autodiscover.json/v1.0/alice@contoso.test?Protocol=Ews')).body).toEqual({
      Protocol: 'EWS',
      Url: 'https://outlook.office365.com/EWS/Exchange.asmx',
    });
    expect((await ask('/Autodiscover/Autodiscover.json?email=alice@contoso.test&protocol=rest')).body).toEqual({
      Protocol: 'Rest',
      Url: 'https://outlook.office.com/api',
    });
    expect(
      (await ask('/autodiscover/autodiscover.json?Email=alice@contoso.test&Protocol=AutodiscoverV1')).body.Url,
    ).toBe('https://outlook.office365.com/autodiscover/autodiscover.xml');
  });

  it('answers an address without a mailbox with 404, and a bad protocol or a missing address with 400', async () => {
    const unknown = await ask('/autodiscover/autodiscover.json?Email=nobody@contoso.test&Protocol=EWS');
    expect(unknown.status).toBe(404);
    expect(unknown.body.ErrorCode).toBe('UserNotFound');
    expect(unknown.body.ErrorMessage).toContain('nobody@contoso.test');
    const protocol = await ask('/autodiscover/autodiscover.json?Email=alice@contoso.test&Protocol=Pop3');
    expect(protocol.status).toBe(400);
    expect(protocol.body).toMatchObject({ ErrorCode: 'InvalidProtocol' });
    expect(protocol.body.ErrorMessage).toContain("'Pop3'");
    const noProtocol = await fetch(`${base}?Email=alice@contoso.test`);
    expect(noProtocol.status).toBe(400);
    const noEmail = await ask('/autodiscover/autodiscover.json?Protocol=EWS');
    expect(noEmail.status).toBe(400);
    expect(noEmail.body.ErrorCode).toBe('InvalidRequest');
  });
});
