-- The pause reasons a floor starts with, so an agent's pause works before a lead has made any:
-- a break, lunch, training, a meeting, and a system fault. Leads add their own beside them.
INSERT INTO pause_reasons (name, created_at) VALUES
    ('休息', 0), ('午餐', 0), ('培训', 0), ('会议', 0), ('系统故障', 0);
