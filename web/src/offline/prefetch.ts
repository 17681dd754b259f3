import { DatahubApi, type Location } from '@cairn/sdk';
import { api } from '../api.js';
import { vault } from './store.js';
import { placesStored } from './readCache.js';

/** How many places a download walks at most (a district's villages, not a whole country's). */
const MAX_PLACES = 2000;
const DOWNLOADED_AT = 'downloaded-at';

export interface Downloaded {
  at: string;
  types: number;
  instruments: number;
  places: number;
  assigned: number;
}

/**
 * "Download for offline use": reads, online, what offline work needs, so the read cache
 * (readCache.ts) keeps it in the person's vault: the registration types and their documents, the
 * instruments, the place tree (breadth first, bounded), and the registrations assigned to them
 * with their type version, for a registrar's offline review.
 */
export async function downloadForOffline(can: (scope: string) => boolean): Promise<Downloaded> {
  const out: Downloaded = { at: new Date().toISOString(), types: 0, instruments: 0, places: 0, assigned: 0 };
  if (can('registrations:read')) {
    await api.registrations.profile().catch(() => undefined);
    const types = await api.registrationTypes.list();
    await Promise.all(types.map((t) => api.registrationTypes.get(t.id)));
    out.types = types.length;
    const assigned = await api.registrations.list({ queue: 'assigned-to-me', limit: 200 });
    for (const r of assigned.items) {
      await api.registrations.get(r.id);
      await api.registrationTypes.get(r.type, r.typeVersion);
    }
    await api.registrations.list({ queue: 'assigned-to-me' });
    out.assigned = assigned.items.length;
  }
  if (can('records:read')) {
    const instruments = new DatahubApi(api.http).instruments;
    const list = await instruments.list();
    await Promise.all(list.map((i) => instruments.edition(i.name, i.edition)));
    out.instruments = list.length;
  }
  if (can('workspaces:read') || can('registrations:write')) {
    const queue: Array<string | undefined> = [undefined];
    const seen = new Set<string>();
    while (queue.length && seen.size < MAX_PLACES) {
      const within = queue.shift();
      const level: Location[] = await api.locations.search({ within, limit: 50 }).catch(() => []);
      for (const l of level) {
        if (seen.has(l.id)) continue;
        seen.add(l.id);
        queue.push(l.id);
      }
    }
    out.places = seen.size;
  }
  await placesStored();
  await vault()?.cachePut(DOWNLOADED_AT, out);
  return out;
}

export async function lastDownload(): Promise<Downloaded | undefined> {
  return vault()?.cacheGet<Downloaded>(DOWNLOADED_AT);
}
