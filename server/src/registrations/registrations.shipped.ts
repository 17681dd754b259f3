import type { RegistrationTypeDocument } from '@cairn/sdk';
import { defaultCertificateTemplate } from '../certificates/index.js';

/**
 * The types Cairn ships. Their field ids are a contract other programs rely on (issue 12);
 * add fields, never rename these. Real registers decide what is required: a birth can be declared
 * before the child is named, and without the mother's national ID or date of birth.
 */
const t = (en: string, fr: string) => ({ en, fr });
const SEX = [
  { value: 'male', label: t('Male', 'Masculin') },
  { value: 'female', label: t('Female', 'Féminin') },
  { value: 'unknown', label: t('Unknown', 'Inconnu') },
];
const DOCUMENT_TYPES = [
  { value: 'proof-of-birth', label: t('Proof of birth', 'Preuve de naissance') },
  { value: 'proof-of-death', label: t('Proof of death', 'Preuve de décès') },
  { value: 'identity', label: t('Identity document', "Pièce d'identité") },
  { value: 'other', label: t('Other', 'Autre') },
];
/** Late: the event is more than a year before the declaration. */
const LATE = { id: 'late-registration', label: t('Late registration', 'Enregistrement tardif'), when: { '>': [{ var: 'daysSinceEvent' }, 365] } };

export const BIRTH: RegistrationTypeDocument = {
  id: 'birth',
  label: t('Birth', 'Naissance'),
  languages: ['en', 'fr'],
  eventDateField: 'child.dob',
  eventLocationField: 'child.placeOfBirth',
  requiredToDeclare: ['child.lastName', 'child.sex', 'child.dob', 'child.placeOfBirth', 'mother.firstName', 'mother.lastName'],
  form: {
    pages: [
      {
        id: 'child',
        title: t("Child's details", "Informations sur l'enfant"),
        fields: [
          { kind: 'personName', name: 'child.firstName', label: t('First name(s)', 'Prénom(s)'), description: t('Leave empty if the child is not named yet', "Laisser vide si l'enfant n'a pas encore de prénom") },
          { kind: 'personName', name: 'child.lastName', label: t('Last name', 'Nom'), required: true },
          { kind: 'text', variant: 'radio', name: 'child.sex', label: t('Sex', 'Sexe'), options: SEX, required: true },
          { kind: 'date', name: 'child.dob', label: t('Date of birth', 'Date de naissance'), max: 'today', required: true },
          { kind: 'location', name: 'child.placeOfBirth', label: t('Place of birth', 'Lieu de naissance'), locationKind: 'any', required: true },
        ],
      },
      {
        id: 'mother',
        title: t("Mother's details", 'Informations sur la mère'),
        fields: [
          { kind: 'personName', name: 'mother.firstName', label: t('First name(s)', 'Prénom(s)'), required: true },
          { kind: 'personName', name: 'mother.lastName', label: t('Last name', 'Nom'), required: true },
          { kind: 'date', name: 'mother.dob', label: t('Date of birth', 'Date de naissance'), max: 'today', ageInsteadOfDate: true },
          { kind: 'nationalId', name: 'mother.nationalId', label: t('National ID', "Numéro national d'identité") },
        ],
      },
      {
        id: 'father',
        title: t("Father's details", 'Informations sur le père'),
        fields: [
          { kind: 'personName', name: 'father.firstName', label: t('First name(s)', 'Prénom(s)') },
          { kind: 'personName', name: 'father.lastName', label: t('Last name', 'Nom') },
        ],
      },
      {
        id: 'informant',
        title: t('Informant and documents', 'Déclarant et pièces'),
        fields: [
          { kind: 'text', variant: 'select', name: 'informant.relation', label: t('Informant', 'Déclarant'), options: [
            { value: 'mother', label: t('Mother', 'Mère') },
            { value: 'father', label: t('Father', 'Père') },
            { value: 'other', label: t('Someone else', 'Une autre personne') },
          ] },
          { kind: 'phone', name: 'informant.phone', label: t('Phone number', 'Numéro de téléphone') },
          { kind: 'email', name: 'informant.email', label: t('Email', 'Courriel') },
          { kind: 'address', name: 'informant.address', label: t('Address', 'Adresse') },
          { kind: 'documents', name: 'documents', label: t('Supporting documents', 'Pièces justificatives'), documentTypes: DOCUMENT_TYPES, maxItems: 5 },
          { kind: 'signature', name: 'informant.signature', label: t("Informant's signature", 'Signature du déclarant') },
        ],
      },
    ],
    derived: {
      'mother.ageAtBirth': { label: t("Mother's age at the birth", "Âge de la mère à la naissance"), expression: { '/': [{ '-': [{ var: '$days.child.dob' }, { var: '$days.mother.dob' }] }, 365.25] }, round: 'floor' },
    },
  },
  flags: [LATE],
  registrationNumber: { pattern: 'B{year}{seq:7}' },
  certificates: [
    {
      id: 'birth-certificate',
      label: t('Birth certificate', 'Acte de naissance'),
      svg: defaultCertificateTemplate('birth'),
    },
  ],
};

export const DEATH: RegistrationTypeDocument = {
  id: 'death',
  label: t('Death', 'Décès'),
  languages: ['en', 'fr'],
  eventDateField: 'deceased.dateOfDeath',
  eventLocationField: 'deceased.placeOfDeath',
  requiredToDeclare: ['deceased.firstName', 'deceased.lastName', 'deceased.sex', 'deceased.dateOfDeath', 'deceased.placeOfDeath'],
  form: {
    pages: [
      {
        id: 'deceased',
        title: t('Deceased', 'Défunt'),
        fields: [
          { kind: 'personName', name: 'deceased.firstName', label: t('First name(s)', 'Prénom(s)'), required: true },
          { kind: 'personName', name: 'deceased.lastName', label: t('Last name', 'Nom'), required: true },
          { kind: 'text', variant: 'radio', name: 'deceased.sex', label: t('Sex', 'Sexe'), options: SEX, required: true },
          { kind: 'date', name: 'deceased.dob', label: t('Date of birth', 'Date de naissance'), max: 'today', ageInsteadOfDate: true },
          { kind: 'nationalId', name: 'deceased.nationalId', label: t('National ID', "Numéro national d'identité") },
        ],
      },
      {
        id: 'event',
        title: t('Death', 'Décès'),
        fields: [
          { kind: 'date', name: 'deceased.dateOfDeath', label: t('Date of death', 'Date du décès'), max: 'today', required: true },
          { kind: 'location', name: 'deceased.placeOfDeath', label: t('Place of death', 'Lieu du décès'), required: true },
        ],
      },
      {
        id: 'informant',
        title: t('Informant and documents', 'Déclarant et pièces'),
        fields: [
          { kind: 'phone', name: 'informant.phone', label: t('Phone number', 'Numéro de téléphone') },
          { kind: 'documents', name: 'documents', label: t('Supporting documents', 'Pièces justificatives'), documentTypes: DOCUMENT_TYPES, maxItems: 5 },
        ],
      },
    ],
  },
  flags: [LATE],
  registrationNumber: { pattern: 'D{year}{seq:7}' },
  certificates: [
    {
      id: 'death-certificate',
      label: t('Death certificate', 'Acte de décès'),
      svg: defaultCertificateTemplate('death'),
    },
  ],
};

export const SHIPPED_TYPES: Record<string, RegistrationTypeDocument> = { birth: BIRTH, death: DEATH };
