-- Workqueue counters (docs/registrations.md, "Workqueues"): per office and per counted queue, how
-- many registrations are in it. Part of the inline `registrations` projection: every write of a
-- registration's row moves its office's counters in the same transaction (old queues -1, new
-- queues +1), so `GET /registrations/workqueues` sums a few rows per office within reach instead
-- of counting the queue's rows, however large the register. A rebuild recounts them from the
-- rebuilt table. `assigned-to-me` is per user and stays a count over its partial index (0710),
-- and the partial indexes stay: the lists read them. A counter that comes down to zero is deleted.
--
-- Index: only the primary key (office_path, queue). It is the key the writers' upsert finds its
-- row by (ON CONFLICT), and, with office_path in the "C" collation, the same index answers the
-- reader's prefix match (office_path LIKE '<reach>%') as a range scan, whatever the database's
-- default collation. No other index: the table holds a few rows per office.
CREATE TABLE registration_queue_counts (
  office_path text COLLATE "C" NOT NULL,
  queue text NOT NULL,
  n integer NOT NULL,
  PRIMARY KEY (office_path, queue)
);

-- The registrations already stored, counted with the predicates of the partial indexes of 0710.
INSERT INTO registration_queue_counts (office_path, queue, n)
SELECT r.office_path, q.queue, count(*)::int
FROM registrations r CROSS JOIN LATERAL unnest(ARRAY[
  CASE WHEN status IN ('created', 'notified') THEN 'in-progress' END,
  CASE WHEN status IN ('declared', 'validated') AND NOT ('rejected' = ANY (flags)) THEN 'ready-for-review' END,
  CASE WHEN 'rejected' = ANY (flags) AND status <> 'archived' THEN 'requires-updates' END,
  CASE WHEN status = 'registered' AND NOT ('printed' = ANY (flags)) THEN 'ready-to-print' END,
  CASE WHEN 'waiting-for-external-validation' = ANY (flags) THEN 'waiting-for-external-validation' END,
  CASE WHEN 'potential-duplicate' = ANY (flags) AND status <> 'archived' THEN 'potential-duplicates' END
]) AS q(queue)
WHERE q.queue IS NOT NULL
GROUP BY r.office_path, q.queue;
