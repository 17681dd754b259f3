-- Checkpoints seal by commit, not by position (docs/architecture.md, "Tamper evidence"). A seal
-- covers every entry whose transaction had committed when the seal's snapshot was taken and that
-- no earlier seal covered, whatever transaction is still open: a long-running transaction no
-- longer holds every later commit outside the seals. Checkpoints sealed before this migration
-- (snapshot NULL) keep their meaning: everything up to (upto_tx, upto_position) in ledger order.
ALTER TABLE ledger_checkpoints ADD COLUMN snapshot pg_snapshot;
