import { describe, expect, it } from 'vitest';
import { contactFromGraph, contactToGraph, needsCurrentContact } from '../../../../src/exchange/graph/map/contact.js';

describe('contactFromGraph', () => {
  it('reads lists by position, addresses by part, the birthday as a date, and no fax', () => {
    const item = contactFromGraph({
      id: 'C1',
      changeKey: 'K',
      displayName: 'Jan',
      nickName: 'Jantje',
      companyName: 'Thinkwise',
      emailAddresses: [{ address: 'a@x.test' }, { address: 'b@x.test' }],
      businessPhones: ['+1', '+2'],
      homePhones: [],
      mobilePhone: '+3',
      businessAddress: { city: 'Apeldoorn', countryOrRegion: 'NL' },
      birthday: '1980-05-16T22:00:00Z',
      personalNotes: 'Notes',
    });
    expect(item).toMatchObject({ id: 'C1', changeKey: 'K', itemClass: 'IPM.Contact' });
    expect(item.properties).toMatchObject({
      displayName: 'Jan',
      nickname: 'Jantje',
      company: 'Thinkwise',
      email1: 'a@x.test',
      email2: 'b@x.test',
      email3: null,
      businessPhone: '+1',
      homePhone: null,
      mobilePhone: '+3',
      'businessAddress.city': 'Apeldoorn',
      'businessAddress.country': 'NL',
      'businessAddress.street': null,
      'homeAddress.city': null,
      birthday: '1980-05-17',
      body: 'Notes',
      bodyType: 'Text',
    });
    // Graph has no fax: not carried, rather than read as empty.
    expect('businessFax' in item.properties).toBe(false);
  });
});

describe('contactToGraph', () => {
  it('writes whole lists and addresses, keeping what the write leaves alone', () => {
    const current = {
      emailAddresses: [{ address: 'a@x.test' }, { address: 'b@x.test' }],
      businessPhones: ['+1', '+2'],
      homeAddress: { street: 'Main 1', city: 'Utrecht' },
    };
    expect(
      contactToGraph(
        {
          email2: 'c@x.test',
          businessPhone: '+9',
          'homeAddress.city': 'Zeist',
          businessFax: '+0',
          birthday: '1980-05-17',
        },
        {},
        current,
      ),
    ).toEqual({
      emailAddresses: [
        { address: 'a@x.test', name: 'a@x.test' },
        { address: 'c@x.test', name: 'c@x.test' },
      ],
      businessPhones: ['+9', '+2'],
      homeAddress: { street: 'Main 1', city: 'Zeist' },
      birthday: '1980-05-17T00:00:00Z',
    });
    expect(contactToGraph({ email1: '', 'homeAddress.street': '' }, {}, current)).toEqual({
      emailAddresses: [{ address: 'b@x.test', name: 'b@x.test' }],
      homeAddress: { street: null, city: 'Utrecht' },
    });
  });

  it('asks for the contact as it is only when a list or an address is written', () => {
    expect(needsCurrentContact({ displayName: 'x', email1: null })).toBe(false);
    expect(needsCurrentContact({ 'businessAddress.state': '' })).toBe(true);
  });

  it('refuses a birthday that is no date, by label', () => {
    expect(() => contactToGraph({ birthday: 'soon' }, { birthday: 'exh_birthday' })).toThrow(/exh_birthday/);
  });
});
