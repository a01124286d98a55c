-- What the search vector costs an import on PostgreSQL, and whether a per-row trigger
-- (migration 0003) or one UPDATE per batch is the cheaper way to fill it.
--
--   psql -h 127.0.0.1 -U postgres -d SCRATCH_DATABASE -f bench/search_vector_cost.sql
--
-- 20,000 rows shaped like the benchmark's articles (a 10-word title, a 60-word excerpt,
-- no body), inserted three ways in one run, each into a fresh table with a GIN index:
-- with the per-row trigger, without any vector, and without one and then filled by a
-- single UPDATE (what "one UPDATE per batch" would do). Compare the \timing lines.
\timing on
DROP TABLE IF EXISTS vector_trigger, vector_none, vector_update;
CREATE TABLE vector_trigger (id serial PRIMARY KEY, title text, excerpt text, body text, search_vector tsvector);
CREATE TABLE vector_none (LIKE vector_trigger INCLUDING ALL);
CREATE TABLE vector_update (LIKE vector_trigger INCLUDING ALL);
CREATE INDEX ON vector_trigger USING gin (search_vector);
CREATE INDEX ON vector_none USING gin (search_vector);
CREATE INDEX ON vector_update USING gin (search_vector);
CREATE OR REPLACE FUNCTION bench_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.excerpt, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.body, '')), 'C');
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_search_vector BEFORE INSERT ON vector_trigger
    FOR EACH ROW EXECUTE FUNCTION bench_search_vector();
CREATE TEMP TABLE words AS SELECT string_to_array(
    'model data neural network robots vision language chips cloud startup research safety '
    'training inference policy healthcare autonomous vehicles regulators investors open '
    'source benchmark transformer agents privacy cameras drones factories hospitals banks', ' ') AS w;
CREATE TEMP TABLE source AS
    SELECT g AS n,
           (SELECT string_agg(w[1 + (random() * 29)::int], ' ') FROM words, generate_series(1, 10) WHERE g > 0) || ' ' || g AS title,
           (SELECT string_agg(w[1 + (random() * 29)::int], ' ') FROM words, generate_series(1, 60) WHERE g > 0) AS excerpt
    FROM generate_series(1, 20000) g;
\echo 1. per-row trigger
INSERT INTO vector_trigger (title, excerpt, body) SELECT title, excerpt, '' FROM source;
\echo 2. no vector at all (the floor)
INSERT INTO vector_none (title, excerpt, body) SELECT title, excerpt, '' FROM source;
\echo 3. no vector, then one UPDATE filling it
INSERT INTO vector_update (title, excerpt, body) SELECT title, excerpt, '' FROM source;
UPDATE vector_update SET search_vector =
    setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(excerpt, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(body, '')), 'C');
DROP TABLE vector_trigger, vector_none, vector_update;
DROP FUNCTION bench_search_vector();
