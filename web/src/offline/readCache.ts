import { isCairnError, type HttpClient, type Location } from '@cairn/sdk';
import { vault } from './store.js';

/**
 * Definitions the person reads online are kept in their vault, so the same pages work offline
 * (docs/offline.md, "What works offline"). Online, every answer comes from the server and
 * refreshes the copy; only when the network is unreachable is the copy answered. The service
 * worker never answers the API: this is the app's own, per-person and encrypted.
 */
const KEPT = [
  /^\/api\/v1\/registration-types(\/|$)/,
  /^\/api\/v1\/registration-users\/me$/,
  /^\/api\/v1\/registrations(\/workqueues)?$/,
  /^\/api\/v1\/registrations\/[^/]+(\/history)?$/,
  /^\/api\/v1\/locations(\/[^/]+)?$/,
  /^\/api\/v1\/instruments(\/|$)/,
  /^\/api\/v1\/sessions\/[^/]+$/,
  /^\/api\/v1\/subjects\/[^/]+(\/sessions)?$/,
  /^\/api\/v1\/workspaces$/,
];

type Query = Record<string, string | number | boolean | undefined | null>;

const cacheKey = (path: string, query?: Query) => {
  const q = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('&');
  return q ? `${path}?${q}` : path;
};

/** Every place seen in an answer, by id: offline, a place search looks here. */
const PLACES = 'places';
type Places = Record<string, Location>;
let places: { userId: string | undefined; byId: Promise<Places> } | undefined;
let placesWrite: Promise<unknown> | undefined;

/** The index of the person whose vault is open; another person's is never read. */
function loadPlaces(): Promise<Places> {
  const v = vault();
  if (!places || places.userId !== v?.userId) places = { userId: v?.userId, byId: v ? v.cacheGet<Places>(PLACES).then((p) => p ?? {}) : Promise.resolve({}) };
  return places.byId;
}

async function notePlaces(list: Location[]) {
  const v = vault();
  if (!v || !list.length) return;
  const p = await loadPlaces();
  for (const l of list) p[l.id] = l;
  // Many answers arrive together while someone types or a download walks the tree: one write.
  placesWrite ??= new Promise((r) => setTimeout(r, 100)).then(() => {
    placesWrite = undefined;
    return vault() === v ? v.cachePut(PLACES, p) : undefined;
  });
}

/** Resolves once every place seen so far is stored (a download waits for it before saying it is done). */
export async function placesStored(): Promise<void> {
  await placesWrite;
  await vault()?.flushed();
}

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** The offline stand-in for GET /locations: names containing every typed word. */
async function searchPlaces(query: Query): Promise<{ locations: Location[] }> {
  const p = await loadPlaces();
  const words = fold(String(query.q ?? '')).split(' ').filter(Boolean);
  const within = typeof query.within === 'string' ? query.within : undefined;
  const under = (l: Location) => {
    for (let at: Location | undefined = l, n = 0; at && n < 50; at = at.parentId ? p[at.parentId] : undefined, n++) if (at.parentId === within) return true;
    return false;
  };
  const out = Object.values(p).filter((l) => (!query.kind || l.kind === query.kind) && (!within || under(l)) && (words.length ? words.every((w) => fold(l.name).includes(w)) : l.parentId === (within ?? null)));
  out.sort((a, b) => a.name.localeCompare(b.name));
  return { locations: out.slice(0, Number(query.limit ?? 10)) };
}

export function installReadCache(http: HttpClient): void {
  const request = http.request.bind(http);
  http.request = async function <T>(method: string, path: string, opts: Parameters<HttpClient['request']>[2] = {}): Promise<T> {
    if (method !== 'GET' || !KEPT.some((r) => r.test(path))) return request<T>(method, path, opts);
    const key = cacheKey(path, opts.query as Query | undefined);
    try {
      const answer = await request<T>(method, path, opts);
      const v = vault();
      if (v) {
        void v.cachePut(key, answer);
        // A type's latest document is also that version's: a draft reopened offline asks for it by version.
        const version = (answer as { version?: unknown }).version;
        if (/^\/api\/v1\/registration-types\/[^/]+$/.test(path) && !opts.query?.version && typeof version === 'number') void v.cachePut(cacheKey(path, { version }), answer);
        const a = answer as { locations?: Location[]; location?: Location };
        if (path.startsWith('/api/v1/locations')) await notePlaces(a.locations ?? (a.location ? [a.location] : []));
      }
      return answer;
    } catch (e) {
      const v = vault();
      if (!v || !isCairnError(e) || e.code !== 'network_error') throw e;
      const kept = await v.cacheGet<T>(key);
      if (kept !== undefined) return kept;
      if (path === '/api/v1/locations') return (await searchPlaces((opts.query ?? {}) as Query)) as T;
      const one = /^\/api\/v1\/locations\/([^/]+)$/.exec(path);
      const place = one && (await loadPlaces())[one[1]!];
      if (place) return { location: place } as T;
      throw e;
    }
  };
}
