-- Issue 17: an administrator may approve part of a permission request (e.g. read but not modify).
-- can_* then hold what was granted; `requested` keeps what the app asked for ({read, create,
-- modify, delete}), null when the grant is the request as asked.
ALTER TABLE app_permission_requests ADD COLUMN requested jsonb;
