-- The consumer side of the reliability contract (design.md): dedup by sequence, parking, dead letters, blocks.

-- The last applied dossierseq per stream (topic) and dossier, written in the handler's transaction.
CREATE TABLE consumer_applied (
    stream     text   NOT NULL,
    dossier_id text   NOT NULL,
    last_seq   bigint NOT NULL,
    PRIMARY KEY (stream, dossier_id)
);

-- Events that cannot be applied yet: a precondition not met, a gap in the sequence, or a blocked dossier.
CREATE TABLE consumer_parked (
    event_id    text        PRIMARY KEY,
    stream      text        NOT NULL,
    dossier_id  text        NOT NULL,
    dossier_seq bigint      NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('precondition', 'gap', 'blocked')),
    partition   integer     NOT NULL,
    "offset"    bigint      NOT NULL,
    key         bytea,
    headers     jsonb       NOT NULL,
    value       bytea,
    parked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consumer_parked_by_dossier ON consumer_parked (dossier_id, stream, dossier_seq);

-- Every event this group sent to its dead-letter topic, with what is needed to replay it into the group.
CREATE TABLE consumer_dead_letters (
    id          bigserial   PRIMARY KEY,
    event_id    text,
    event_type  text,
    dossier_id  text,
    dossier_seq bigint,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    "offset"    bigint      NOT NULL,
    key         bytea,
    headers     jsonb       NOT NULL,
    value       bytea,
    error       text        NOT NULL,
    attempts    integer     NOT NULL,
    dead_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text CHECK (resolution IN ('replayed', 'discarded'))
);

-- A dossier with an unresolved dead letter: its later events are parked, not applied to a state that missed one.
CREATE TABLE consumer_blocked (
    dossier_id     text        PRIMARY KEY,
    dead_letter_id bigint      NOT NULL REFERENCES consumer_dead_letters (id),
    blocked_at     timestamptz NOT NULL DEFAULT now()
);
