import { defineItemType, field } from './definition.js';

const address = (kind: 'business' | 'home', label: 'Business' | 'Home') => [
  field(`${kind}_street`, 'text', `${kind}Address.street`, `${label} address: street.`),
  field(`${kind}_city`, 'text', `${kind}Address.city`, `${label} address: city.`),
  field(`${kind}_state`, 'text', `${kind}Address.state`, `${label} address: state or province.`),
  field(`${kind}_postal_code`, 'text', `${kind}Address.postalCode`, `${label} address: postal code.`),
  field(`${kind}_country`, 'text', `${kind}Address.country`, `${label} address: country or region.`),
];

/** Contacts in the user's Contacts folder. */
export const contact = defineItemType({
  name: 'contact',
  code: 1,
  description: 'Contacts.',
  folders: [{ name: 'contacts', label: 'Contacts' }],
  // Distribution lists (IPM.DistList) live in the same folder and are skipped.
  itemClasses: ['IPM.Contact'],
  hasAttachments: false,
  fields: [
    field('display_name', 'text', 'displayName', 'Display name.'),
    field('given_name', 'text', 'givenName', 'Given (first) name.'),
    field('middle_name', 'text', 'middleName', 'Middle name.'),
    field('surname', 'text', 'surname', 'Surname.'),
    field('initials', 'text', 'initials', 'Initials.'),
    field('nickname', 'text', 'nickname', 'Nickname.'),
    field('company', 'text', 'company', 'Company.'),
    field('department', 'text', 'department', 'Department.'),
    field('job_title', 'text', 'jobTitle', 'Job title.'),
    field('email_1', 'text', 'email1', 'First e-mail address.'),
    field('email_2', 'text', 'email2', 'Second e-mail address.'),
    field('email_3', 'text', 'email3', 'Third e-mail address.'),
    field('business_phone', 'text', 'businessPhone', 'Business phone.'),
    field('home_phone', 'text', 'homePhone', 'Home phone.'),
    field('mobile_phone', 'text', 'mobilePhone', 'Mobile phone.'),
    field('business_fax', 'text', 'businessFax', 'Business fax.'),
    ...address('business', 'Business'),
    ...address('home', 'Home'),
    field('birthday', 'date', 'birthday', 'Birthday.'),
    field('notes', 'body', 'body', "Notes (the contact's body)."),
    field('categories', 'longText', 'categories', 'Categories, separated by ";".'),
    field('file_as', 'text', 'fileAs', 'How the contact is filed ("Surname, Given name").'),
  ],
});
