-- How many times in a row an import was taken over from a worker that went silent (its process
-- died) without a batch committed in between. Past two, the import is failed rather than
-- resumed again: an upload that kills the process cannot crash-loop the service.
ALTER TABLE imports ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
