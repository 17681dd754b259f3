import { combineKeys, fieldKey, type BlockingRule, type LinkageConfig } from './model.js';

/**
 * The scored de-duplication model of the shipped registration types: which fields are compared
 * and how, which look-alikes are different people, and the blocking keys that find candidates.
 * A registration type's document can name its own; these are the defaults for `birth` and `death`.
 */
export interface LinkagePreset {
  config: LinkageConfig;
  blocking: BlockingRule[];
}

export const birthLinkage: LinkagePreset = {
  config: {
    fields: [
      { id: 'child.firstName', kind: 'name' },
      { id: 'child.lastName', kind: 'name' },
      { id: 'child.sex', kind: 'code' },
      { id: 'child.dob', kind: 'date' },
      { id: 'child.placeOfBirth', kind: 'code' },
      { id: 'mother.firstName', kind: 'name' },
      { id: 'mother.lastName', kind: 'name' },
      { id: 'mother.dob', kind: 'date' },
      { id: 'mother.nationalId', kind: 'id' },
      { id: 'father.firstName', kind: 'name' },
      { id: 'father.lastName', kind: 'name' },
      { id: 'informant.phone', kind: 'id' },
    ],
    nameSwaps: [['child.firstName', 'child.lastName'], ['mother.firstName', 'mother.lastName'], ['father.firstName', 'father.lastName']],
    // Twins: same family name and date of birth, clearly different first names; or the same date
    // and a different sex. Two different mothers (a first name nothing alike, and a national ID
    // clearly different or a date of birth nothing alike) have two different children, however
    // common the child's names are.
    distinct: [
      { same: ['child.dob', 'child.lastName'], differ: ['child.firstName'] },
      { same: ['child.dob'], differ: ['child.sex'] },
      { unlike: ['mother.firstName'], differ: ['mother.nationalId'] },
      { unlike: ['mother.firstName', 'mother.dob'] },
    ],
    // Siblings share every parent field; only the child's own first name, sex and date decide.
    subject: ['child.firstName', 'child.sex', 'child.dob'],
  },
  blocking: [
    fieldKey('mother.nationalId'),
    fieldKey('informant.phone'),
    combineKeys(fieldKey('mother.lastName', 'soundex'), fieldKey('child.dob', 'year')),
    combineKeys(fieldKey('mother.firstName', 'soundex'), fieldKey('mother.lastName', 'soundex')),
    combineKeys(fieldKey('child.lastName', 'soundex'), fieldKey('child.dob')),
    combineKeys(fieldKey('child.firstName', 'soundex'), fieldKey('child.dob', 'year')),
    combineKeys(fieldKey('mother.dob'), fieldKey('child.dob', 'year')),
  ],
};

export const deathLinkage: LinkagePreset = {
  config: {
    fields: [
      { id: 'deceased.firstName', kind: 'name' },
      { id: 'deceased.lastName', kind: 'name' },
      { id: 'deceased.sex', kind: 'code' },
      { id: 'deceased.dob', kind: 'date' },
      { id: 'deceased.nationalId', kind: 'id' },
      { id: 'deceased.dateOfDeath', kind: 'date' },
      { id: 'deceased.placeOfDeath', kind: 'code' },
      { id: 'informant.phone', kind: 'id' },
    ],
    nameSwaps: [['deceased.firstName', 'deceased.lastName']],
    subject: ['deceased.firstName', 'deceased.lastName', 'deceased.sex', 'deceased.dob', 'deceased.nationalId'],
  },
  blocking: [
    fieldKey('deceased.nationalId'),
    combineKeys(fieldKey('deceased.lastName', 'soundex'), fieldKey('deceased.dob', 'year')),
    combineKeys(fieldKey('deceased.firstName', 'soundex'), fieldKey('deceased.lastName', 'soundex')),
    combineKeys(fieldKey('deceased.lastName', 'soundex'), fieldKey('deceased.dateOfDeath', 'year')),
    fieldKey('deceased.dob'),
  ],
};

/** FEBRL's person records (name, address, date of birth, social security id). */
export const febrlLinkage: LinkagePreset = {
  config: {
    fields: [
      { id: 'given_name', kind: 'name' },
      { id: 'surname', kind: 'name' },
      { id: 'street_number', kind: 'code' },
      { id: 'address_1', kind: 'text' },
      { id: 'address_2', kind: 'text' },
      { id: 'suburb', kind: 'text' },
      { id: 'postcode', kind: 'code' },
      { id: 'state', kind: 'code' },
      { id: 'date_of_birth', kind: 'date' },
      { id: 'soc_sec_id', kind: 'id' },
    ],
    nameSwaps: [['given_name', 'surname']],
  },
  blocking: [
    fieldKey('soc_sec_id'),
    fieldKey('date_of_birth'),
    combineKeys(fieldKey('given_name', 'soundex'), fieldKey('surname', 'soundex')),
    combineKeys(fieldKey('surname', 'soundex'), fieldKey('given_name', 'soundex')),
    combineKeys(fieldKey('surname', 'prefix3'), fieldKey('postcode')),
    combineKeys(fieldKey('given_name', 'prefix3'), fieldKey('postcode')),
    combineKeys(fieldKey('given_name', 'prefix3'), fieldKey('date_of_birth', 'year')),
    combineKeys(fieldKey('surname', 'prefix3'), fieldKey('date_of_birth', 'year')),
    combineKeys(fieldKey('street_number'), fieldKey('postcode')),
    combineKeys(fieldKey('suburb', 'soundex'), fieldKey('street_number')),
    combineKeys(fieldKey('given_name', 'soundex'), fieldKey('suburb', 'soundex')),
    combineKeys(fieldKey('surname', 'soundex'), fieldKey('suburb', 'soundex')),
    combineKeys(fieldKey('address_1', 'soundex'), fieldKey('street_number')),
    combineKeys(fieldKey('address_1', 'prefix3'), fieldKey('suburb', 'soundex')),
    combineKeys(fieldKey('address_1', 'prefix3'), fieldKey('postcode')),
  ],
};
