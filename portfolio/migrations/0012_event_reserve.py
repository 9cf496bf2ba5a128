# Events written with their positions already taken (portfolio.events.record_batch with
# place_now) queue no commit trigger: the trigger of migration 0010 fires only for rows still
# without a position. Their positions come from portfolio_event_reserve(n), under the same
# advisory lock ("EVNT") and from the same sequence as the trigger's; the lock is then held
# until the transaction commits, so positions still become visible in increasing order.
# No row changes: every existing event keeps its position.
from django.db import migrations

RESERVE = """
DROP TRIGGER IF EXISTS portfolio_event_place ON portfolio_event;
CREATE CONSTRAINT TRIGGER portfolio_event_place
    AFTER INSERT ON portfolio_event
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.position IS NULL)
    EXECUTE FUNCTION portfolio_event_place();

CREATE OR REPLACE FUNCTION portfolio_event_reserve(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
BEGIN
    IF n < 1 THEN
        RAISE EXCEPTION 'portfolio_event_reserve: n must be at least 1, not %', n;
    END IF;
    PERFORM pg_advisory_xact_lock(1163284052);  -- 0x45564E54, "EVNT", as the trigger's
    base := nextval('portfolio_event_position_seq');
    PERFORM setval('portfolio_event_position_seq', base + n - 1);
    RETURN base;
END
$$;
"""

UNDO_RESERVE = """
DROP FUNCTION IF EXISTS portfolio_event_reserve(bigint);
DROP TRIGGER IF EXISTS portfolio_event_place ON portfolio_event;
CREATE CONSTRAINT TRIGGER portfolio_event_place
    AFTER INSERT ON portfolio_event
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_event_place();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0011_event_pruning'),
    ]

    operations = [
        migrations.RunSQL(RESERVE, UNDO_RESERVE),
    ]
