-- An outcome's history row counts itself in the roll-ups, in the statement that writes it: one
-- statement per outcome instead of four (the three upserts were separate round trips to the
-- database), and a recorded outcome can never miss its count.
-- Upgrading: stop every process of an older build before starting this one. An older process
-- still running would upsert its outcomes' roll-ups itself and the trigger would count them again.
CREATE FUNCTION history_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outcome_totals (campaign_id, agent_id, disposition, n)
        VALUES (NEW.campaign_id, NEW.agent_id, NEW.disposition, 1)
        ON CONFLICT (campaign_id, agent_id, disposition) DO UPDATE SET n = outcome_totals.n + 1;
    INSERT INTO campaign_hourly (campaign_id, offer_id, hour, disposition, n)
        SELECT NEW.campaign_id, c.offer_id, NEW.at / 3600000, NEW.disposition, 1 FROM campaigns c
        WHERE c.id = NEW.campaign_id
        ON CONFLICT (campaign_id, hour, disposition, offer_id) DO UPDATE SET n = campaign_hourly.n + 1;
    INSERT INTO agent_hourly (agent_id, hour, disposition, n)
        VALUES (NEW.agent_id, NEW.at / 3600000, NEW.disposition, 1)
        ON CONFLICT (agent_id, hour, disposition) DO UPDATE SET n = agent_hourly.n + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER history_rollups AFTER INSERT ON history
    FOR EACH ROW WHEN (NEW.kind = 'outcome') EXECUTE FUNCTION history_rollups();
