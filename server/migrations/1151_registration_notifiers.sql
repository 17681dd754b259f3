-- Inbound notifications (docs/webhooks.md, "Inbound notifications"): apps an administrator lets
-- post partial declarations (the `notify` action), each into one office's workqueue. One office
-- per app: a hospital's system notifies the office responsible for the hospital.
CREATE TABLE registration_notifiers (
  app_id uuid PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  office_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  granted_by uuid,
  granted_at timestamptz NOT NULL
);
