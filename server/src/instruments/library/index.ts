/**
 * Instruments that ship with Cairn. They are plain JSON definitions, exactly what a user could
 * upload, so they go through the same validation as any other definition; a broken one fails
 * loudly at import rather than at a respondent's screen.
 */
import { validateDefinition, type InstrumentDefinition } from '@cairn/sdk/instruments';
import consent from './consent.json' with { type: 'json' };
import demographics from './demographics.json' with { type: 'json' };
import gad7 from './gad-7.json' with { type: 'json' };
import mentalHealthScreening from './mental-health-screening.json' with { type: 'json' };
import phq9 from './phq-9.json' with { type: 'json' };

/** Forms first, then the series that combine them, so they can be installed in this order. */
const RAW: readonly unknown[] = [consent, demographics, phq9, gad7, mentalHealthScreening];

function load(): InstrumentDefinition[] {
  const loaded: InstrumentDefinition[] = [];
  for (const raw of RAW) {
    const result = validateDefinition(raw, {
      resolveForm: (name, edition) => loaded.find((d) => d.name === name && d.edition === edition),
    });
    if (!result.ok) {
      const name = (raw as { name?: unknown }).name;
      throw new Error(`library instrument ${String(name)} is invalid: ${JSON.stringify(result.errors)}`);
    }
    loaded.push(result.definition);
  }
  return loaded;
}

export const LIBRARY_INSTRUMENTS: readonly InstrumentDefinition[] = load();

export function findLibraryInstrument(name: string, edition?: number): InstrumentDefinition | undefined {
  const matches = LIBRARY_INSTRUMENTS.filter((d) => d.name === name && (edition === undefined || d.edition === edition));
  return matches.sort((a, b) => b.edition - a.edition)[0];
}
