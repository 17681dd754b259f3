import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../test/harness.js';
import { registrationWorld } from '../../test/registration-world.js';
import { registrationSearchProjection } from './search.projection.js';

/**
 * The search index rebuilt from the ledger is the index the writers left, row for row: through the
 * projector (bulk pass, then ledger order, then the swap) and through the bulk pass alone in pages
 * small enough to read ahead several times.
 */
const PASSWORD = 'correct horse battery staple';
let server: TestServer;
const FIRST = ['Aminata', 'Moussa', 'Fatou', 'Ibrahima', 'Awa', 'Cheikh', 'Mariama', 'Ousmane', 'Khady', 'Mamadou', 'Ndeye'];

beforeAll(async () => {
  let user: Awaited<ReturnType<typeof registrationWorld>>['user'];
  let tree: Awaited<ReturnType<typeof registrationWorld>>['tree'];
  ({ server, tree, user } = await registrationWorld(PASSWORD));
  server.services.registrations.duplicateCheckers.length = 0;
  const agent = await user('agent', 'field-agent', tree.office1);
  const registrar = await user('registrar', 'local-registrar', tree.office1);
  for (const [i, first] of FIRST.entries()) {
    const r = await agent.registrations.create({
      type: 'birth',
      action: i % 4 === 3 ? 'notify' : 'declare',
      data: { 'child.firstName': first, 'child.lastName': i % 2 ? 'Diallo' : 'Ndiaye', 'child.sex': 'female', 'child.dob': `2026-0${1 + (i % 9)}-1${i % 10}`, 'child.placeOfBirth': tree.district1, 'mother.firstName': 'Awa', 'mother.lastName': 'Sow', 'mother.nationalId': String(1_000_000_000 + i), 'informant.phone': `+22177${String(1_000_000 + i)}` },
    });
    if (i % 4 === 0) {
      await registrar.registrations.action(r.id, 'assign');
      await registrar.registrations.action(r.id, 'register');
    }
  }
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe('the registration search index rebuilt', () => {
  it('is identical to the one the writers maintained, through the projector and through the bulk pass in small pages', async () => {
    const db = server.services.db;
    const rows = async (table: string) => (await sql`SELECT * FROM ${sql.table(table)} ORDER BY 1`.execute(db)).rows;
    const live = await rows('registration_search');
    expect(live).toHaveLength(FIRST.length);
    // The name-word lexicon: every distinct name word once (child, mother), with its spelling key.
    const words = await rows('registration_name_words');
    expect(words).toContainEqual({ word: 'aminata', key: 'amanat', deletes: ['minata', 'ainata', 'amnata', 'amiata', 'aminta', 'aminaa', 'aminat'] });
    expect(words.length).toBe(new Set([...FIRST.map((f) => f.toLowerCase()), 'diallo', 'ndiaye', 'awa', 'sow']).size);

    await server.services.projector.rebuildNow('registration-search');
    expect(await rows('registration_search')).toEqual(live);
    expect(await rows('registration_name_words')).toEqual(words);

    await sql`CREATE TABLE search_bulk (LIKE registration_search INCLUDING ALL)`.execute(db);
    await sql`CREATE TABLE words_bulk (LIKE registration_name_words INCLUDING ALL)`.execute(db);
    const projection = registrationSearchProjection(server.services.search.loadType, { bulkPage: 3 });
    const covered = await db.transaction().execute(async (trx) => {
      const horizon = (await sql<{ h: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h`.execute(trx)).rows[0]!.h;
      return projection.bulkRebuild!(trx, { registration_search: 'search_bulk', registration_name_words: 'words_bulk' }, horizon);
    });
    expect(covered).toBeGreaterThanOrEqual(FIRST.length);
    expect(await rows('search_bulk')).toEqual(live);
    expect(await rows('words_bulk')).toEqual(words);
  });
});
