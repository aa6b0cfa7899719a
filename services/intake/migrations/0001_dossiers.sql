-- Dossiers as received by intake. Intake owns statuses 1-3 (design.md); from acceptance on routing owns the
-- status, and intake keeps here what it needs to serve the desk and public tracking.
CREATE TABLE dossiers (
    id                  uuid        PRIMARY KEY,
    code                text        NOT NULL UNIQUE,
    desk_code           text        NOT NULL,
    procedure_code      text        NOT NULL,
    procedure_version   integer     NOT NULL,
    channel             text        NOT NULL,
    -- received: at the desk, not yet decided; submitted: online, status 1; accepted: 2; refused: 3.
    state               text        NOT NULL CHECK (state IN ('received', 'submitted', 'accepted', 'refused')),
    return_channel      text        NOT NULL,
    documents           jsonb       NOT NULL,
    fee_vnd             bigint      NOT NULL,
    received_at         timestamptz NOT NULL,
    due_at              timestamptz,
    calendar_version    text,
    supplement_items    jsonb,
    tracking_secret     text        NOT NULL,  -- a scrypt hash, never the secret
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dossiers_by_desk ON dossiers (desk_code, created_at);

-- The applicant's personal data: never on a lifecycle topic; contact data goes to the contacts topic only.
CREATE TABLE applicants (
    dossier_id   uuid PRIMARY KEY REFERENCES dossiers (id),
    kind         text NOT NULL,
    full_name    text NOT NULL,
    personal_id  text,
    phone        text NOT NULL,
    email        text,
    address      jsonb,
    notify_by    text NOT NULL,
    language     text NOT NULL
);

-- A retried create with the same Idempotency-Key returns the first answer instead of a second dossier.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    dossier_id   uuid        NOT NULL REFERENCES dossiers (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
