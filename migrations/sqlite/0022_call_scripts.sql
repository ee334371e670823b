-- The script as the hand-out rendered it for the call, kept with the call: a retried `next` of
-- the same call answers from here and never renders again, so a script that takes the process
-- down while rendering cannot take it down again on every retry after a restart.
-- `script_text` is the rendered text; `script_error` is why it would not render (the message
-- the agent sees; the text shown is then the body as written). Both NULL: not rendered yet.
-- Before the render starts, `script_error` is set to a note that the render did not finish,
-- which stays if the process dies during it.
ALTER TABLE calls ADD COLUMN script_text TEXT;
ALTER TABLE calls ADD COLUMN script_error TEXT;
