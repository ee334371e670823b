-- The name index of 0034 doubled what an import writes on SQLite's one writer: a batch's names
-- land all over the index, so each commit wrote about a page per row more, and hand-outs waited
-- behind those commits (scripts/bench-mixed.sh: busy `next` p50 3.2 → 6.4 ms, p99 22.8 → 46.8 ms
-- with a 200,000-row import running). A name search reads the table instead (about 0.1 s at a
-- million people); PostgreSQL, whose imports do not hold up hand-outs, keeps its index.
DROP INDEX contacts_name;
