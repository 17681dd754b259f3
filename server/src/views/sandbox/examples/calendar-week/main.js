// Calendar week: the entries between input.from (inclusive) and input.to (exclusive),
// grouped by day and ordered by start time.
import { dayOf } from './dates.js';

export default async function ({ configuration, input, events }) {
  const type = configuration?.eventType ?? 'calendar.entry';
  const days = {};
  let after = null;
  do {
    const page = await events.query({ type, from: input.from, to: input.to, after, limit: 500 });
    for (const e of page.events) {
      (days[dayOf(e.occurredAt)] ??= []).push({
        id: e.id,
        title: e.data.title,
        start: e.occurredAt,
        end: e.data.end ?? null,
      });
    }
    after = page.next;
  } while (after);
  return { from: input.from, to: input.to, days };
}
