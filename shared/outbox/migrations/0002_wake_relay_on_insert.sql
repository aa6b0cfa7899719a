-- The relays' wake-up (they LISTEN on shared.outbox.NOTIFY_CHANNEL): a NOTIFY per inserting statement, delivered on
-- commit and never on rollback. Identical notifications of one transaction fold into one, so a transaction of many
-- events wakes the relays once, and the writer spends no round trip of its own on it.
CREATE FUNCTION outbox_wake_relays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lienthong_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_wake_relays AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake_relays();
