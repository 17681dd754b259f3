import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import datahubEn from '../i18n/datahub.en.js';
import datahubFr from '../i18n/datahub.fr.js';
import gatewayEn from './gateway.en.js';
import gatewayFr from './gateway.fr.js';
import '../styles.css';
import './gateway.css';
import { GatewayApp } from './GatewayApp.js';

// The participant's page: its own entry (web/gateway.html), served by the gateway. It shares the
// instrument renderer (and its strings) with the data hub and nothing else: no session, no API client.
const lang = document.documentElement.lang === 'fr' ? 'fr' : 'en';
void i18next.use(initReactI18next).init({
  resources: { en: { translation: { datahub: datahubEn, gateway: gatewayEn } }, fr: { translation: { datahub: datahubFr, gateway: gatewayFr } } },
  lng: lang,
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
});

const linkId = location.pathname.split('/').filter(Boolean).pop() ?? '';
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <GatewayApp linkId={linkId} />
  </StrictMode>,
);
