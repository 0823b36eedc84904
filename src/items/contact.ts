import { defineItemType, field } from './definition.js';

const address = (kind: 'business' | 'home', key: 'Business' | 'Home') => [
  field(`${kind}_street`, 'text', `PhysicalAddresses[${key}].Street`, `${key} address: street.`),
  field(`${kind}_city`, 'text', `PhysicalAddresses[${key}].City`, `${key} address: city.`),
  field(`${kind}_state`, 'text', `PhysicalAddresses[${key}].State`, `${key} address: state or province.`),
  field(`${kind}_postal_code`, 'text', `PhysicalAddresses[${key}].PostalCode`, `${key} address: postal code.`),
  field(`${kind}_country`, 'text', `PhysicalAddresses[${key}].CountryOrRegion`, `${key} address: country or region.`),
];

/** Contacts in the user's Contacts folder. */
export const contact = defineItemType({
  name: 'contact',
  code: 1,
  description: 'Contacts.',
  hasAttachments: false,
  fields: [
    field('display_name', 'text', 'DisplayName', 'Display name.'),
    field('given_name', 'text', 'GivenName', 'Given (first) name.'),
    field('middle_name', 'text', 'MiddleName', 'Middle name.'),
    field('surname', 'text', 'Surname', 'Surname.'),
    field('initials', 'text', 'Initials', 'Initials.'),
    field('nickname', 'text', 'NickName', 'Nickname.'),
    field('company', 'text', 'CompanyName', 'Company.'),
    field('department', 'text', 'Department', 'Department.'),
    field('job_title', 'text', 'JobTitle', 'Job title.'),
    field('email_1', 'text', 'EmailAddresses[EmailAddress1]', 'First e-mail address.'),
    field('email_2', 'text', 'EmailAddresses[EmailAddress2]', 'Second e-mail address.'),
    field('email_3', 'text', 'EmailAddresses[EmailAddress3]', 'Third e-mail address.'),
    field('business_phone', 'text', 'PhoneNumbers[BusinessPhone]', 'Business phone.'),
    field('home_phone', 'text', 'PhoneNumbers[HomePhone]', 'Home phone.'),
    field('mobile_phone', 'text', 'PhoneNumbers[MobilePhone]', 'Mobile phone.'),
    field('business_fax', 'text', 'PhoneNumbers[BusinessFax]', 'Business fax.'),
    ...address('business', 'Business'),
    ...address('home', 'Home'),
    field('birthday', 'date', 'Birthday', 'Birthday.'),
    field('notes', 'body', 'Body', "Notes (the contact's body)."),
    field('categories', 'longText', 'Categories', 'Categories, separated by ";".'),
    field('file_as', 'text', 'FileAs', 'How the contact is filed ("Surname, Given name").'),
  ],
});
