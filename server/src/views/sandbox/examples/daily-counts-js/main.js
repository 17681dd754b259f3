// Per-day counts of one activity-tracker event type, every UTC day of [input.from, input.to)
// present (zero when nothing happened).
export default async function ({ configuration, input, events }) {
  const counts = {};
  for (let t = Date.parse(input.from); t < Date.parse(input.to); t += 86_400_000) {
    counts[new Date(t).toISOString().slice(0, 10)] = 0;
  }
  let after = null;
  do {
    const page = await events.query({ type: configuration.eventType, from: input.from, to: input.to, after });
    for (const e of page.events) counts[e.occurredAt.slice(0, 10)] += 1;
    after = page.next;
  } while (after);
  return counts;
}
