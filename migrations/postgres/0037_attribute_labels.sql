-- Attribute labels (issue 26): per campaign, what the agent desk shows for each contact
-- attribute key (`{"monthly_spend": "月消费"}`), a JSON object of text; keys without a label
-- show as themselves.
ALTER TABLE campaigns ADD COLUMN attribute_labels TEXT NOT NULL DEFAULT '{}';
