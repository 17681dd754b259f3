import type { Kysely } from 'kysely';
import type { DuplicatePair, DuplicateReview, JsonValue, RegistrationSearchFilter, RegistrationSearchPage, RegistrationSearchResult, RegistrationTypeDocument } from '@cairn/sdk';
import type { Database } from '../database/database.js';
import type { AuthContext } from '../kernel/access.js';
import { fail } from '../kernel/errors.js';
import { newId } from '../kernel/ids.js';
import type { Logger } from '../kernel/logger.js';
import type { DuplicateChecker, RegistrationsService } from '../registrations/registrations.service.js';
import type { ScoredPair } from './linkage/model.js';
import { fold, jaroWinkler, spellingKey } from './linkage/strings.js';
import { candidateKeysOf, dedupConfig, digits, fieldKinds, normaliseIdentifier, personNameFields } from './search.index.js';
import { DedupWorker } from './search.dedup.host.js';
import { MAX_CANDIDATES, ModelCache, comparableData, matchAmong, round, type Found, type TypeModel } from './search.matching.js';
import { searchStore, storeSource, type IndexHit, type Predicate } from './search.store.js';

/** How long a search statement may run before PostgreSQL cancels it (answered 503 search_timeout). */
const SEARCH_TIMEOUT_MS = 3000;
const MAX_QUERY = 200;
const MAX_RESULTS = 200;
/** Register name words looked at per query word (the most similar first). */
const WORDS_PER_QUERY_WORD = 50;

// The answers' shapes are the SDK's (declared once, in sdk/src/registrations.ts).
type SearchResult = RegistrationSearchResult;
type SearchPage = RegistrationSearchPage;
type AdvancedFilter = RegistrationSearchFilter;

const encodeCursor = (offset: number) => Buffer.from(`o${offset}`).toString('base64url');
function decodeCursor(c: string | undefined): number {
  if (!c) return 0;
  const m = /^o(\d{1,6})$/.exec(Buffer.from(c, 'base64url').toString());
  if (!m) throw fail('invalid_cursor', 'Not a cursor this search gave', [{ pointer: '/cursor', message: 'unknown cursor' }]);
  return Number(m[1]);
}

/** Statement timeouts become a clear 503, not a 500. */
function timeouts<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if ((e as { code?: string }).code === '57014') throw fail('search_timeout', 'The search took too long; narrow it (a type, a location, more of the name)');
    throw e;
  });
}

export class SearchService {
  private readonly models = new ModelCache();
  private readonly dedup: DedupWorker;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly registrations: RegistrationsService,
    private readonly log: Logger,
  ) {
    this.dedup = new DedupWorker(db, log);
  }

  /** Stops the import de-duplication worker (the app is closing). */
  close(): Promise<void> {
    return this.dedup.close();
  }

  /** The type document of a registration's version (the registrations service caches saved versions). */
  readonly loadType = async (id: string, version: number): Promise<RegistrationTypeDocument> => (await this.registrations.typeDocument(id, version)).document;

  /** A type's scored model: priors for m, u learnt from a sample of the register (refreshed every few minutes). */
  private typeModel(type: string, version: number): Promise<TypeModel> {
    return this.models.get(type, version, () => this.loadType(type, version), storeSource(this.db));
  }

  // --- de-duplication ------------------------------------------------------------------------

  /** Registered with the registrations service: runs on declare and again before register. */
  readonly duplicateChecker: DuplicateChecker = async (db, reg, when) => {
    const tm = await this.typeModel(reg.type, reg.typeVersion);
    if (dedupConfig(tm.doc).enabled === false) return { matches: [] };
    const candidates = await searchStore.candidates(db, reg.type, candidateKeysOf(tm.preset, tm.model, reg.data).asked, reg.id, MAX_CANDIDATES);
    const mine = comparableData(reg.data);
    const [me, ...them] = tm.model.prepare([mine, ...candidates.map((c) => c.fields)]);
    return matchAmong(tm, when, { fields: mine, prepared: me! }, candidates.map((c, i) => ({ id: c.id, fields: c.fields, prepared: them[i]! })));
  };

  /**
   * De-duplication for one import, batch after batch (search.matching.ts's checkBatch), in the
   * de-duplication worker thread, which keeps the import's memory until `close`. `unwritten`: how
   * many checked batches the import may still be writing when it checks the next one.
   */
  importChecker(type: string, version: number, unwritten: number): { check(regs: Array<{ id: string; data: Record<string, JsonValue> }>, when: 'declare' | 'register'): Promise<Found[]>; close(): void } {
    const importId = newId();
    return {
      check: async (regs, when) => this.dedup.check(importId, unwritten, type, version, await this.loadType(type, version), regs, when),
      close: () => this.dedup.release(importId),
    };
  }

  /** Scores two registrations (the review page and the duplicates list). */
  async comparePair(a: IndexHit, b: IndexHit): Promise<ScoredPair> {
    // Scored with the type's current model: a pair may span type versions.
    const { version } = await this.registrations.typeDocument(a.type);
    const { model } = await this.typeModel(a.type, version);
    const [pa, pb] = model.prepare([a.fields, b.fields]);
    return model.score(pa!, pb!);
  }

  /**
   * The review page's data: a flagged registration's matches side by side, each with its answers
   * and, field by field, how the type's model compared it. A match may sit outside the caller's
   * jurisdiction (detection is country-wide: the same child declared in two districts): the caller
   * sees it here because deciding needs it, and the opening of the flagged record is audited.
   */
  async matches(ctx: AuthContext, id: string): Promise<DuplicateReview> {
    const reg = await this.registrations.get(ctx, id);
    const [mine] = await searchStore.hits(this.db, [reg.id]);
    const sources = new Map((await searchStore.sources(this.db, reg.duplicateOf)).map((s) => [s.id, s]));
    const hits = new Map((await searchStore.hits(this.db, reg.duplicateOf)).map((h) => [h.id, h]));
    const out: DuplicateReview['matches'] = [];
    for (const m of reg.duplicateOf) {
      const src = sources.get(m);
      const hit = hits.get(m);
      if (!src || !hit) continue;
      const s = mine ? await this.comparePair(mine, hit) : null;
      out.push({
        id: src.id, trackingId: src.tracking_id, type: src.type, typeVersion: src.type_version, status: src.status, flags: src.flags,
        registrationNumber: src.registration_number, data: src.data as Record<string, JsonValue>,
        score: s ? round(s.probability) : null, fields: s ? s.fields.map((f) => ({ field: f.field, level: f.level, weight: round(f.weight) })) : [],
      });
    }
    return { id: reg.id, trackingId: reg.trackingId, matches: out };
  }

  async openDuplicates(ctx: AuthContext, type: string | undefined): Promise<DuplicatePair[]> {
    const c = await this.registrations.caller(ctx);
    const pairs = await searchStore.openDuplicates(this.db, type, c.reach, 10_000);
    const hits = new Map((await searchStore.hits(this.db, [...new Set(pairs.flatMap((p) => [p.a, p.b]))])).map((h) => [h.id, h]));
    const out = [];
    for (const p of pairs) {
      const a = hits.get(p.a);
      const b = hits.get(p.b);
      if (!a || !b) continue;
      const s = await this.comparePair(a, b);
      out.push({ a: { id: a.id, trackingId: a.tracking_id, legacyId: a.legacy_id }, b: { id: b.id, trackingId: b.tracking_id, legacyId: b.legacy_id }, score: round(s.probability) });
    }
    return out;
  }

  // --- quick search ----------------------------------------------------------------------------

  async quick(ctx: AuthContext, input: { q: string; type?: string; limit?: number; cursor?: string }): Promise<SearchPage> {
    const c = await this.registrations.caller(ctx);
    const q = input.q.normalize('NFC').trim();
    if (!q) throw fail('validation_failed', 'Type something to search for', [{ pointer: '/q', message: 'empty' }]);
    if (q.length > MAX_QUERY) throw fail('validation_failed', `At most ${MAX_QUERY} characters`, [{ pointer: '/q', message: 'too long' }]);
    const limit = Math.min(input.limit ?? 20, 100);
    const offset = decodeCursor(input.cursor);
    const words = fold(q).split(' ').filter(Boolean).slice(0, 8);
    const idForms = new Set<string>();
    const compact = normaliseIdentifier(q);
    // Paper registers number their entries briefly ("SX-1", "A12"): an identifier is matched
    // exactly, so a short one finds only itself.
    if (compact.length >= 2) idForms.add(compact);
    const d = digits(q);
    if (d.length >= 6 && d.length === q.replace(/[\s+().-]/g, '').length) {
      idForms.add(d);
      idForms.add(d.slice(-9));
    }
    const ranked = await timeouts(
      searchStore.withTimeout(this.db, SEARCH_TIMEOUT_MS, async (trx) => {
        const byId = await searchStore.byIdentifier(trx, [...idForms], c.reach, input.type, MAX_RESULTS);
        // A query of digits alone that found its identifier is no name.
        const nameWords = byId.length && words.every((w) => /^\d+$/.test(w)) ? [] : words;
        const byName = nameWords.length ? await searchStore.byKeySets(trx, await this.wordKeys(trx, nameWords), c.reach, input.type, MAX_RESULTS) : [];
        const names = await this.nameFieldsOf([...new Set(byName.map((h) => h.type))]);
        return this.rank(byId, byName, idForms, words, names);
      }),
    );
    const page = ranked.slice(offset, offset + limit);
    return { results: await this.present(page), next: offset + limit < ranked.length ? encodeCursor(offset + limit) : null };
  }

  /**
   * For each query word, the spelling keys a matching name word may have: its own (same word,
   * transliterations), and those of the register's name words like it (typos: Jaro-Winkler at
   * the ranking's 0.8, or the word typed so far as their prefix), found in the name-word lexicon.
   * The rows are then those holding one key of every word (docs/search.md, "How names are found").
   * `field` narrows the keys to one field's (advanced search).
   */
  private async wordKeys(db: Kysely<Database>, words: string[], field?: string): Promise<string[][]> {
    const like = new Map<string, Set<string>>(words.map((w) => [w, new Set([spellingKey(w)])]));
    const fuzzy = words.filter((w) => w.length >= 3);
    const found = new Set<string>();
    for (const { q, word, key } of await searchStore.nearWords(db, fuzzy, WORDS_PER_QUERY_WORD)) {
      found.add(q);
      // One edit in a short word can be another name: the ranking's own threshold decides.
      if (word.startsWith(q) || jaroWinkler(word, q) >= 0.8) like.get(q)!.add(key);
    }
    // Further than one edit: the register's words like it by trigram similarity, for a word the
    // look-ups did not place (its exact form, a typo, a prefix all count as placed).
    for (const { q, word, key } of await searchStore.similarWords(db, fuzzy.filter((w) => !found.has(w)), WORDS_PER_QUERY_WORD)) {
      if (jaroWinkler(word, q) >= 0.8) like.get(q)!.add(key);
    }
    return words.map((w) => [...like.get(w)!].map((k) => (field ? `${field}:${k}` : k)));
  }

  /** Exact identifiers first, then names by how well every query word matched a name word. */
  private rank(byId: IndexHit[], byName: IndexHit[], idForms: Set<string>, words: string[], nameFields: Map<string, Set<string>>): Array<{ hit: IndexHit; score: number; matched: SearchResult['matched'] }> {
    const out = new Map<string, { hit: IndexHit; score: number; matched: SearchResult['matched'] }>();
    for (const hit of byId) {
      const which = hit.identifiers.find((i) => idForms.has(i)) ?? '';
      const field = which === hit.tracking_id ? 'trackingId' : hit.registration_number && normaliseIdentifier(hit.registration_number) === which ? 'registrationNumber' : hit.legacy_id && normaliseIdentifier(hit.legacy_id) === which ? 'legacyId' : Object.entries(hit.fields).find(([, v]) => normaliseIdentifier(v) === which || digits(v).endsWith(which))?.[0] ?? 'identifier';
      out.set(hit.id, { hit, score: 2, matched: [{ field, how: 'identifier', value: which }] });
    }
    for (const hit of byName) {
      if (out.has(hit.id) || !words.length) continue;
      // The type's personName fields, not field ids that happen to contain "name" (a school's name is no person's).
      const personNames = nameFields.get(hit.type);
      const fields = Object.entries(hit.fields).filter(([k]) => personNames?.has(k));
      let total = 0;
      const matched: SearchResult['matched'] = [];
      for (const w of words) {
        let best = { s: 0, field: '', value: '', how: 'similar' as 'exact' | 'spelling' | 'similar' };
        for (const [field, value] of fields) {
          for (const v of fold(value).split(' ')) {
            const s = v === w ? 1 : spellingKey(v) === spellingKey(w) ? 0.97 : jaroWinkler(v, w);
            if (s > best.s) best = { s, field, value, how: v === w ? 'exact' : s === 0.97 ? 'spelling' : 'similar' };
          }
        }
        total += best.s;
        if (best.s >= 0.8) matched.push({ field: best.field, how: best.how, value: best.value, query: w });
      }
      const score = total / words.length;
      // Every word must find a name word that resembles it: "Curie Dupont" must not bring every Curie.
      if (matched.length < words.length || score < 0.85) continue;
      out.set(hit.id, { hit, score, matched });
    }
    return [...out.values()].sort((a, b) => b.score - a.score || b.hit.updated_at.getTime() - a.hit.updated_at.getTime());
  }

  /** Each type's person-name fields (latest version; field ids are never renamed, issue 12), kept briefly. */
  private readonly nameFieldCache = new Map<string, { at: number; fields: Set<string> }>();
  private async nameFieldsOf(types: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const t of types) {
      let c = this.nameFieldCache.get(t);
      if (!c || Date.now() - c.at > 30_000) {
        c = { at: Date.now(), fields: personNameFields((await this.registrations.typeDocument(t)).document) };
        this.nameFieldCache.set(t, c);
      }
      out.set(t, c.fields);
    }
    return out;
  }

  private async present(items: Array<{ hit: IndexHit; score: number; matched: SearchResult['matched'] }>): Promise<SearchResult[]> {
    const out: SearchResult[] = [];
    for (const { hit, score, matched } of items) {
      const summary: Record<string, string> = {};
      for (const [k, v] of Object.entries(hit.fields)) if (/name|dob|date/i.test(k)) summary[k] = v;
      out.push({
        id: hit.id, trackingId: hit.tracking_id, type: hit.type, status: hit.status, flags: hit.flags, registrationNumber: hit.registration_number,
        legacyId: hit.legacy_id, eventDate: hit.event_date, summary, score: round(score), matched,
      });
    }
    return out;
  }

  // --- advanced search -------------------------------------------------------------------------

  async advanced(ctx: AuthContext, input: { type: string; filters: AdvancedFilter[]; limit?: number; cursor?: string }): Promise<SearchPage> {
    const c = await this.registrations.caller(ctx);
    const doc = (await this.registrations.typeDocument(input.type).catch(() => {
      throw fail('validation_failed', `No registration type ${input.type}`, [{ pointer: '/type', message: 'unknown type' }]);
    })).document;
    const kinds = fieldKinds(doc);
    const limit = Math.min(input.limit ?? 20, 100);
    const offset = decodeCursor(input.cursor);
    const predicates: Predicate[] = [];
    const fuzzy: Array<{ field: string; words: string[] }> = [];
    for (const [i, f] of input.filters.entries()) {
      const at = `/filters/${i}`;
      if (!kinds.has(f.field) && f.field !== 'legacyId') throw fail('validation_failed', `${input.type} has no field ${f.field}`, [{ pointer: `${at}/field`, message: 'unknown field' }]);
      switch (f.op) {
        case 'exact':
          if (!f.value) throw fail('validation_failed', 'exact needs a value', [{ pointer: `${at}/value`, message: 'missing' }]);
          predicates.push({ kind: 'exact', field: f.field, value: f.value.trim() });
          break;
        case 'fuzzy': {
          const words = fold(f.value ?? '').split(' ').filter(Boolean).slice(0, 6);
          if (!words.length) throw fail('validation_failed', 'fuzzy needs a value', [{ pointer: `${at}/value`, message: 'missing' }]);
          // A person's name narrows by the keys of the words like each query word in this field;
          // another field by trigram over the names. Every word is then checked on this field.
          if (kinds.get(f.field) === 'personName') for (const keys of await this.wordKeys(this.db, words, f.field)) predicates.push({ kind: 'keys', keys });
          else predicates.push({ kind: 'trigram', value: words.join(' ') });
          fuzzy.push({ field: f.field, words });
          break;
        }
        case 'range': {
          const ok = (d: string | undefined) => d === undefined || /^\d{4}-\d{2}-\d{2}$/.test(d);
          if ((!f.from && !f.to) || !ok(f.from) || !ok(f.to)) throw fail('validation_failed', 'range takes from and/or to as YYYY-MM-DD', [{ pointer: `${at}/from`, message: 'not a date' }]);
          predicates.push(f.field === doc.eventDateField ? { kind: 'eventDate', from: f.from, to: f.to } : { kind: 'dateText', field: f.field, from: f.from, to: f.to });
          break;
        }
        case 'within': {
          if (!f.value) throw fail('validation_failed', 'within needs a location', [{ pointer: `${at}/value`, message: 'missing' }]);
          const path = await this.locationPath(f.value);
          if (!path) throw fail('validation_failed', 'No such location', [{ pointer: `${at}/value`, message: 'unknown location' }]);
          predicates.push(f.field === doc.eventLocationField ? { kind: 'eventWithin', path } : { kind: 'fieldWithin', field: f.field, path });
          break;
        }
      }
    }
    const rows = await timeouts(searchStore.withTimeout(this.db, SEARCH_TIMEOUT_MS, (trx) => searchStore.advanced(trx, { type: input.type, reach: c.reach, predicates }, fuzzy.length ? MAX_RESULTS : limit + 1, fuzzy.length ? 0 : offset)));
    let items = rows.map((hit) => ({ hit, score: 1, matched: [] as SearchResult['matched'] }));
    if (fuzzy.length) {
      items = items.filter((it) =>
        fuzzy.every(({ field, words }) => {
          const value = it.hit.fields[field];
          if (!value) return false;
          const vs = fold(value).split(' ');
          return words.every((w) => vs.some((v) => {
            const ok = v === w || spellingKey(v) === spellingKey(w) || jaroWinkler(v, w) >= 0.85;
            if (ok) it.matched.push({ field, how: v === w ? 'exact' : spellingKey(v) === spellingKey(w) ? 'spelling' : 'similar', value: v, query: w });
            return ok;
          }));
        }),
      );
      const page = items.slice(offset, offset + limit);
      return { results: await this.present(page), next: offset + limit < items.length ? encodeCursor(offset + limit) : null };
    }
    const page = items.slice(0, limit);
    return { results: await this.present(page), next: items.length > limit ? encodeCursor(offset + limit) : null };
  }

  private async locationPath(id: string): Promise<string | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    return searchStore.locationPath(this.db, id);
  }
}

