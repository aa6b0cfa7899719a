-- Notification owns the notifications and their delivery, and the surveys (its contact copies: shared/contacts).

-- One record per (causing event, channel, recipient), whatever the redeliveries: the unique key is the rule.
-- The id is the provider call's idempotency key (SMS) or the email's Message-ID.
CREATE TABLE notifications (
    id               uuid        PRIMARY KEY,
    event_id         uuid        NOT NULL,
    event_type       text        NOT NULL,
    dossier_id       uuid        NOT NULL,
    dossier_code     text        NOT NULL,
    channel          text        NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient        text        NOT NULL,
    event_data       jsonb       NOT NULL,    -- the lifecycle event (no personal data): a fallback is written from it
    template         text        NOT NULL,
    template_version integer     NOT NULL,
    mandatory        boolean     NOT NULL,
    subject          text,
    body_text        text        NOT NULL,
    body_html        text,
    status           text        NOT NULL CHECK (status IN ('created', 'sending', 'delivered', 'permanent-failure',
                                                            'temporary-failure', 'technical-failure')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,             -- when to (re)send; none once nothing more is to be tried
    sending_since    timestamptz,             -- a provider call is (or was, if we died) in flight
    provider         text,                    -- the gateway called; `pinned` while a send to it may have happened
    pinned           boolean     NOT NULL DEFAULT false,
    provider_ref     text,
    sent_at          timestamptz,             -- the provider accepted it
    delivered_at     timestamptz,
    failure_code     text,
    uncertain_sends  integer     NOT NULL DEFAULT 0,  -- sends that may have reached an applicant twice
    created_at       timestamptz NOT NULL,
    UNIQUE (event_id, channel, recipient)
);
CREATE INDEX notifications_to_send ON notifications (next_attempt_at)
    WHERE status IN ('created', 'temporary-failure', 'technical-failure') OR (status = 'sending' AND sent_at IS NULL);
CREATE INDEX notifications_by_recipient ON notifications (recipient, sent_at);
CREATE INDEX notifications_by_dossier ON notifications (dossier_id);

-- The satisfaction survey: one invitation per dossier, answered once.
CREATE TABLE surveys (
    id           uuid        PRIMARY KEY,
    dossier_id   uuid        NOT NULL UNIQUE,
    dossier_code text        NOT NULL,
    invited_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    levels       smallint,
    rating       smallint,
    dissatisfied boolean,
    complaint    boolean,
    criteria     jsonb,
    comment      text
);

-- The key that signs survey links, when none is configured: made once, so that links survive restarts.
CREATE TABLE survey_keys (
    id  smallint PRIMARY KEY CHECK (id = 1),
    key bytea    NOT NULL
);
