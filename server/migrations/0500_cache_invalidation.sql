-- Servers cache a few rows that every request reads (token owners, grants, event-type versions)
-- and drop them when these triggers announce a committed change (kernel/cache.ts). Triggers rather
-- than calls in the services: no write path, including a manual fix in psql, can forget one.
-- NOTIFY is delivered at commit, and identical payloads within a transaction are sent once.
CREATE FUNCTION cairn_notify_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cairn_invalidate', TG_TABLE_NAME);
  RETURN NULL;
END $$;

-- Only the columns a cached context depends on (a login's failure counter must not clear caches).
CREATE TRIGGER users_invalidate AFTER UPDATE OF role, disabled_at, username OR DELETE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER sessions_invalidate AFTER UPDATE OR DELETE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
-- last_used_at is stamped once a minute per token and cached nowhere else: not a change.
CREATE TRIGGER api_tokens_invalidate AFTER UPDATE OF revoked_at, expires_at, scopes, user_id OR DELETE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER apps_invalidate AFTER UPDATE OR DELETE ON apps
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER app_access_tokens_invalidate AFTER UPDATE OR DELETE ON app_access_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER app_permission_requests_invalidate AFTER INSERT OR UPDATE OR DELETE ON app_permission_requests
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER token_event_grants_invalidate AFTER INSERT OR UPDATE OR DELETE ON token_event_grants
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER event_types_invalidate AFTER INSERT OR UPDATE OR DELETE ON event_types
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
CREATE TRIGGER event_type_versions_invalidate AFTER INSERT OR UPDATE OR DELETE ON event_type_versions
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_invalidate();
