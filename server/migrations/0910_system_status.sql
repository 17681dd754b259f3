-- Nodes seen recently: each serving process upserts its row every 15 s (metrics/metrics.store.ts),
-- so the admin System page lists the nodes behind the load balancer without a registry service.
CREATE TABLE node_heartbeats (
  node_id text PRIMARY KEY,
  hostname text NOT NULL,
  pid integer NOT NULL,
  version text NOT NULL,
  started_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now()
);

-- Each ledger verification's outcome (POST /api/v1/ledger/verify), for the System page. The
-- ledger itself is not used: a verification is a reading, not a change.
CREATE TABLE ledger_verifications (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ran_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL,
  ok boolean NOT NULL,
  checked bigint NOT NULL,
  checkpoints bigint NOT NULL,
  problems integer NOT NULL,
  actor_id uuid
);
