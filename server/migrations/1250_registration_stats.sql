-- The registrations performance dashboard (docs/registrations.md, "Performance dashboard"):
-- registered records per month of registration and place, and how many were registered within a
-- year of their event. One range scan of this index answers it (registered records only, with the
-- columns the figures need, so the table's wide rows are not read).
CREATE INDEX registrations_stats_idx ON registrations (registered_at) INCLUDE (type, event_date, office_path, event_location_path) WHERE registered_at IS NOT NULL;
