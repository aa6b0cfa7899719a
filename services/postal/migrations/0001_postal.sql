-- Postal owns the shipments (pickups of dossiers, deliveries of results), the carrier's status events and the
-- chain of custody. Its contact copies are shared/contacts'.

-- One shipment per dossier and direction; its id is the carrier order's idempotency key.
CREATE TABLE shipments (
    id              uuid        PRIMARY KEY,
    dossier_id      uuid        NOT NULL,
    dossier_code    text        NOT NULL,
    direction       text        NOT NULL CHECK (direction IN ('pickup', 'return')),
    state           text        NOT NULL,
    raw_code        integer,                  -- the carrier's code behind the state
    order_number    text        NOT NULL UNIQUE,
    tracking_number text,                     -- the carrier's item code, once it took the order
    agency_code     text        NOT NULL,     -- the desk the package goes to (pickup) or comes from (return)
    documents       jsonb       NOT NULL,     -- what the postal worker checks (pickup) or carries (return)
    service_code    text        NOT NULL,
    fee_vnd         bigint      NOT NULL,     -- the carrier's fee for the shipment
    cod_vnd         bigint      NOT NULL,     -- what the postal worker collects from the applicant
    weight_g        integer     NOT NULL,
    cause_event_id  uuid        NOT NULL,
    created_at      timestamptz NOT NULL,
    ordered_at      timestamptz,              -- the carrier took the order
    next_attempt_at timestamptz,              -- when to place the order (again); none once placed or refused
    in_flight_since timestamptz,              -- an order call is (or was, if we died) in flight
    attempts        integer     NOT NULL DEFAULT 0,
    failure_code    text,
    last_report_at  timestamptz,              -- the carrier's last word (webhook or tracking)
    delivery_attempts integer   NOT NULL DEFAULT 0,
    UNIQUE (dossier_id, direction)
);
CREATE INDEX shipments_to_order ON shipments (next_attempt_at) WHERE ordered_at IS NULL;
CREATE INDEX shipments_open ON shipments (last_report_at) WHERE state NOT IN ('handed-to-agency', 'delivered',
                                                                              'returned-to-agency', 'cancelled');

-- Every status event the carrier reported, once per its id, with what it made of the shipment.
CREATE TABLE status_events (
    shipment_id uuid        NOT NULL REFERENCES shipments (id),
    event_id    text        NOT NULL,
    code        integer     NOT NULL,
    at          timestamptz NOT NULL,
    reason      text,
    verdict     text        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (shipment_id, event_id)
);
