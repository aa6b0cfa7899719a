-- The transactional outbox (design.md, "The reliability contract"): a service inserts its outgoing events here
-- in the transaction that changes its state; the relay publishes them in `position` order per shard.
CREATE TABLE outbox (
    position    bigserial   PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    event_type  text        NOT NULL,
    topic       text        NOT NULL,
    dossier_id  text        NOT NULL,
    shard       smallint    NOT NULL,
    headers     jsonb       NOT NULL,
    value       bytea,
    state       text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    error       text
);
CREATE INDEX outbox_pending_by_shard ON outbox (shard, position) WHERE state = 'pending';
CREATE INDEX outbox_failed_by_dossier ON outbox (dossier_id) WHERE state = 'failed';

-- dossierseq: strictly increasing from 1 per dossier and per stream (topic) of this producer.
CREATE TABLE outbox_sequence (
    topic      text   NOT NULL,
    dossier_id text   NOT NULL,
    last_seq   bigint NOT NULL,
    PRIMARY KEY (topic, dossier_id)
);

-- Live relays, so that each takes a fair share of the shards.
CREATE TABLE outbox_relays (
    relay_id text        PRIMARY KEY,
    seen_at  timestamptz NOT NULL
);
