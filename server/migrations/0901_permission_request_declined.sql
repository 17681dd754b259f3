-- Issue 17: a declined request (never granted) was stored as 'revoked' (granted, then taken back),
-- so the app and the Control Centre could not tell the two apart. Earlier declines stay 'revoked':
-- which ones they were is only in the ledger (cairn.app.permission_revoked, previousStatus).
ALTER TABLE app_permission_requests DROP CONSTRAINT app_permission_requests_status_check;
ALTER TABLE app_permission_requests ADD CONSTRAINT app_permission_requests_status_check
  CHECK (status IN ('pending', 'approved', 'declined', 'revoked', 'superseded'));
