import type { DomainModule } from '../kernel/module.js';
import { instrumentsRoutes, type InstrumentsDeps } from './instruments.routes.js';

export type { InstrumentsDeps };

/** Instruments as data: upload, publish editions, retire. */
export const instrumentsModule: DomainModule<InstrumentsDeps> = {
  name: 'instruments',
  routes: instrumentsRoutes,
  reservedTypePrefixes: ['instrument.'],
  migrations: '0300 (data hub)',
};
