-- Outbound webhooks (docs/webhooks.md): subscriptions, their deliveries (one per ledger entry and
-- subscription, in ledger order) and every attempt's answer.

CREATE TABLE webhook_subscriptions (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
  -- Exact ledger types to send (event-store types, or registration.<action> for registration actions).
  event_types text[] NOT NULL DEFAULT '{}',
  registration_actions text[] NOT NULL DEFAULT '{}',
  -- The signing secret, sealed with the instance secret (kernel/crypto.ts SecretBox): shown once.
  secret_sealed text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The feed's position in the ledger ((tx, position), like a projection's): entries after it are
  -- still to be turned into deliveries. Starts at the horizon when the subscription is created.
  cursor_tx xid8,
  cursor_position bigint,
  -- One delivery worker at a time per subscription (sequential delivery keeps the order).
  lease_until timestamptz
);

CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  -- Delivery order within a subscription: ledger order of the entries, replays at the end.
  seq bigserial NOT NULL,
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  entry_id uuid NOT NULL,
  event_type text NOT NULL,
  stream text,
  replay_of uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  last_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
-- The feed may see an entry twice only if it crashed between reading and committing; this makes
-- the second insert a no-op.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (subscription_id, entry_id) WHERE replay_of IS NULL;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, seq DESC);

CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  at timestamptz NOT NULL,
  status integer,
  error text,
  body text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
