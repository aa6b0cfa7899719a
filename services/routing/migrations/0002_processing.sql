-- Processing after acceptance: who holds each step, the clock's pauses, apologies, deadlines as rows, surveys,
-- and each dossier's history (the Mẫu 05 process control sheet is read from it).

ALTER TABLE dossiers
    ADD COLUMN return_channel text,
    ADD COLUMN appointment_at timestamptz,        -- the appointment given to the applicant (moved by an apology)
    ADD COLUMN paused_at      timestamptz,        -- set while status is 5 or 6: the clock stands still
    ADD COLUMN ended_at       timestamptz,        -- processing ended (9 result ready, 8 stopped, 7 withdrawn)
    ADD COLUMN timeliness     text CHECK (timeliness IN ('early', 'on_time', 'late'));
UPDATE dossiers SET return_channel = 'desk', appointment_at = due_at WHERE return_channel IS NULL;
ALTER TABLE dossiers ALTER COLUMN return_channel SET NOT NULL, ALTER COLUMN appointment_at SET NOT NULL;
CREATE UNIQUE INDEX dossiers_by_code ON dossiers (code);

ALTER TABLE steps
    ADD COLUMN from_step_id text,                 -- the step that handed the dossier over; none for a first step
    ADD COLUMN claimed_by   text,
    ADD COLUMN claimed_at   timestamptz,
    ADD COLUMN completed_by text,
    ADD COLUMN note         text,
    ADD COLUMN timeliness   text CHECK (timeliness IN ('early', 'on_time', 'late'));

-- Each supplement request (status 5) or financial obligation (status 6): the clock pauses from requested_at to
-- resumed_at. A dossier has at most one open pause.
CREATE TABLE pauses (
    request_event_id uuid        PRIMARY KEY,
    dossier_id       uuid        NOT NULL REFERENCES dossiers (id),
    kind             text        NOT NULL CHECK (kind IN ('supplement', 'obligation')),
    step_id          text        NOT NULL,
    agency_code      text        NOT NULL,
    second_request   boolean     NOT NULL DEFAULT false,
    amount_vnd       bigint,
    requested_at     timestamptz NOT NULL,
    resumed_at       timestamptz,
    paused_minutes   integer
);
CREATE UNIQUE INDEX pauses_one_open ON pauses (dossier_id) WHERE resumed_at IS NULL;
CREATE INDEX pauses_by_agency ON pauses (agency_code, requested_at);

-- Mẫu 04: at most one apology per dossier (the primary key is the rule).
CREATE TABLE apologies (
    dossier_id         uuid        PRIMARY KEY REFERENCES dossiers (id),
    agency_code        text        NOT NULL,
    reason             text        NOT NULL,
    due_at             timestamptz NOT NULL,
    new_appointment_at timestamptz NOT NULL,
    issued_at          timestamptz NOT NULL,
    signed_by          text        NOT NULL
);

-- Deadlines as data (design.md): fired once by the scheduler, whatever restarts; cancelled when the clock pauses
-- or processing ends, and armed again with the moved instants.
CREATE TABLE deadlines (
    id           bigserial   PRIMARY KEY,
    dossier_id   uuid        NOT NULL REFERENCES dossiers (id),
    kind         text        NOT NULL CHECK (kind IN ('near_due', 'overdue')),
    fire_at      timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz
);
CREATE UNIQUE INDEX deadlines_one_armed ON deadlines (dossier_id, kind) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX deadlines_to_fire ON deadlines (fire_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- survey.answered from notification, folded into the 766 satisfaction index.
CREATE TABLE surveys (
    survey_id    uuid        PRIMARY KEY,
    dossier_id   uuid        NOT NULL REFERENCES dossiers (id),
    dissatisfied boolean     NOT NULL,
    complaint    boolean     NOT NULL,
    answered_at  timestamptz NOT NULL
);

-- Everything routing published about a dossier, in order: the process control sheet (Mẫu 05) reads it.
CREATE TABLE history (
    dossier_id  uuid        NOT NULL REFERENCES dossiers (id),
    dossier_seq bigint      NOT NULL,
    event_type  text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    data        jsonb       NOT NULL,
    PRIMARY KEY (dossier_id, dossier_seq)
);
