-- The PostgreSQL read models. Everything here can be dropped and rebuilt from
-- the event store with `paperledger rebuild`.
CREATE SCHEMA IF NOT EXISTS read_model;

-- Trigram similarity for typo tolerance; btree_gin puts the owner into GIN indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Last event position each projector has applied, written in the same
-- transaction as the read-model change it belongs to.
CREATE TABLE IF NOT EXISTS read_model.positions (
    projector text PRIMARY KEY,
    position bigint NOT NULL
);
-- Tells listeners ('projector:position' on read_model_positions) when a change of
-- position commits: reads waiting for a position wake on it instead of polling.
CREATE OR REPLACE FUNCTION read_model.notify_position() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('read_model_positions', NEW.projector || ':' || NEW.position);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER positions_notify
    AFTER INSERT OR UPDATE ON read_model.positions
    FOR EACH ROW EXECUTE FUNCTION read_model.notify_position();

CREATE TABLE IF NOT EXISTS read_model.users (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    home_folder_id uuid NOT NULL,
    inbox_folder_id uuid NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS read_model.api_tokens (
    token_hash text PRIMARY KEY,
    token_id uuid NOT NULL UNIQUE,
    user_id uuid NOT NULL,
    label text NOT NULL,
    revoked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS read_model.folders (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    title text NOT NULL,
    parent_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS folders_parent ON read_model.folders (parent_id, title);

CREATE TABLE IF NOT EXISTS read_model.documents (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,
    title text NOT NULL,
    folder_id uuid NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    lang text NOT NULL,
    ocr_status text NOT NULL,  -- pending, completed, failed
    ocr_reason text,
    page_count integer NOT NULL,
    original_sha256 text NOT NULL,
    original_filename text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    pdf_sha256 text NOT NULL,
    archive_sha256 text,
    trashed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL,
    -- Title (weight A) and tags (B).
    search_vector tsvector NOT NULL DEFAULT ''::tsvector
);
-- Search reads each document in the configuration of its language; body_vector
-- holds the text of all pages (C), NULL for none; match_vector is title, tags and
-- body, what matching a whole document and ranking read, plus the mark of its
-- configuration; rank_keys are the keys that rank it (read_model.rank_keys).
ALTER TABLE read_model.documents
    ADD COLUMN IF NOT EXISTS search_config regconfig NOT NULL DEFAULT 'simple',
    ADD COLUMN IF NOT EXISTS body_vector tsvector,
    ADD COLUMN IF NOT EXISTS match_vector tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN IF NOT EXISTS rank_keys tsvector;
-- Rank keys are kept out of line, as the vectors are, so that reading documents
-- reads narrow rows.
ALTER TABLE read_model.documents SET (toast_tuple_target = 1024);
-- Browsing: a folder's documents, and all of an owner's, in each order listings
-- offer, trash left out. An index-only scan counts them and skips to a page; the
-- owner's indexes carry the tags, so a common tag is filtered on the index, and a
-- rare one is found through the GIN index.
DROP INDEX IF EXISTS read_model.documents_folder;
DROP INDEX IF EXISTS read_model.documents_owner;
CREATE INDEX IF NOT EXISTS documents_folder_title ON read_model.documents
    (owner_id, folder_id, lower(title), id) INCLUDE (title) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_folder_created ON read_model.documents
    (owner_id, folder_id, created_at, id) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_folder_updated ON read_model.documents
    (owner_id, folder_id, updated_at, id) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_owner_title ON read_model.documents
    (owner_id, lower(title), id) INCLUDE (title, tags) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_owner_created ON read_model.documents
    (owner_id, created_at, id) INCLUDE (tags) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_owner_updated ON read_model.documents
    (owner_id, updated_at, id) INCLUDE (tags) WHERE NOT trashed;
CREATE INDEX IF NOT EXISTS documents_tags ON read_model.documents USING gin (tags);
DROP INDEX IF EXISTS read_model.documents_owner_tags;
DROP INDEX IF EXISTS read_model.documents_search;
DROP INDEX IF EXISTS read_model.documents_match;

CREATE OR REPLACE AGGREGATE read_model.concat_vectors(tsvector) (
    SFUNC = pg_catalog.tsvector_concat, STYPE = tsvector, INITCOND = ''
);

-- Returns the vector of all pages of a document, one after the other; when that
-- is more than a tsvector holds, their lexemes without positions, as many as fit.
CREATE OR REPLACE FUNCTION read_model.body_vector(document uuid)
RETURNS tsvector LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
    RETURN (
        SELECT setweight(
            coalesce(read_model.concat_vectors(p.search_vector ORDER BY p.number), ''),
            'C')
        FROM read_model.pages p WHERE p.document_id = document
    );
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN (
        SELECT coalesce(array_to_tsvector(array_agg(lexeme)), '')
        FROM (
            SELECT lexeme, sum(octet_length(lexeme) + 8) OVER (ORDER BY lexeme) AS size
            FROM (SELECT DISTINCT u.lexeme FROM read_model.pages p,
                      unnest(strip(p.search_vector)) AS u
                  WHERE p.document_id = document) AS lexemes
        ) AS sized
        WHERE size < 1000000
    );
END
$$;

DROP FUNCTION IF EXISTS read_model.matches(tsvector, regconfig, regconfig[], tsquery[]);

-- Returns a key for each lexeme of a vector that ranks the document: the lexeme, a
-- space, where it occurs at best (a for the title, b tags, c pages) and how often,
-- exactly up to 8 and then in steps (10, 12, 14, 16, 20, 24, 28, 32 for more), as
-- in 'invoic a3'. A lexeme that occurs once, on a page only, has none. Search finds
-- the documents of the best keys first through the GIN index, so it ranks a few of
-- the documents that match instead of all of them. The title comes first in the
-- vector, then the tags, then the pages: a lexeme's first weight is its best.
CREATE OR REPLACE FUNCTION read_model.rank_keys(vector tsvector)
RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_to_tsvector(array_agg(
        u.lexeme || ' '
        || CASE u.weights[1] WHEN 'A' THEN 'a' WHEN 'B' THEN 'b' ELSE 'c' END
        || CASE WHEN c.n <= 8 THEN c.n WHEN c.n < 16 THEN c.n - c.n % 2
                WHEN c.n < 32 THEN c.n - c.n % 4 ELSE 32 END)), '')
    FROM unnest(vector) AS u,
        LATERAL (SELECT coalesce(cardinality(u.positions), 1) AS n) AS c
    WHERE c.n > 1 OR u.weights[1] < 'C'
$$;

-- The text-search configurations each user has documents in: a search is compiled
-- in these only, as a query in a configuration nobody's documents use still costs
-- the GIN index a pass over every match of its words. Pairs are added, never
-- removed; one left behind by a trashed or changed document only widens a search.
CREATE TABLE IF NOT EXISTS read_model.search_configs (
    owner_id uuid NOT NULL,
    config regconfig NOT NULL,
    PRIMARY KEY (owner_id, config)
);
-- Documents projected before the table existed record theirs once.
INSERT INTO read_model.search_configs (owner_id, config)
SELECT DISTINCT d.owner_id, d.search_config FROM read_model.documents d
WHERE NOT EXISTS (SELECT FROM read_model.search_configs)
ON CONFLICT DO NOTHING;

-- Adds to match_vector the mark of the document's owner and configuration, a lexeme
-- no parser makes (a space, the configuration's name, a space and the owner's id),
-- so that a query ANDed with the mark only matches that owner's documents of that
-- configuration, on the GIN index alone; records the pair in search_configs; and
-- keeps rank_keys up to date. An insert that will turn into an update of the same
-- document leaves the keys to the update.
CREATE OR REPLACE FUNCTION read_model.mark_search_vectors() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.match_vector := NEW.match_vector
        || array_to_tsvector(
            ARRAY[' ' || NEW.search_config::text || ' ' || NEW.owner_id::text]);
    IF TG_OP = 'INSERT' OR NEW.search_config IS DISTINCT FROM OLD.search_config
        OR NEW.owner_id IS DISTINCT FROM OLD.owner_id
    THEN
        INSERT INTO read_model.search_configs (owner_id, config)
        VALUES (NEW.owner_id, NEW.search_config)
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT FROM read_model.documents d WHERE d.id = NEW.id) THEN
            NEW.rank_keys := read_model.rank_keys(NEW.match_vector);
        END IF;
    ELSIF NEW.rank_keys IS NULL OR NEW.match_vector IS DISTINCT FROM OLD.match_vector
    THEN
        NEW.rank_keys := read_model.rank_keys(NEW.match_vector);
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER documents_search_vectors
    BEFORE INSERT OR UPDATE ON read_model.documents
    FOR EACH ROW EXECUTE FUNCTION read_model.mark_search_vectors();
-- Documents projected before the mark and rank keys get them once.
UPDATE read_model.documents SET rank_keys = NULL WHERE rank_keys IS NULL;
-- Matching and ranking on the index alone: no document's vector is read to find
-- out whether it matches (a phrase excepted), only those ranked are.
CREATE INDEX IF NOT EXISTS documents_match_rank ON read_model.documents
    USING gin (match_vector, rank_keys);

-- The words, as written and in lower case, of each user's documents: where typo
-- tolerance finds near spellings and prefixes find words whatever their stem.
-- Words of documents trashed or changed since stay; they only widen a search.
CREATE TABLE IF NOT EXISTS read_model.vocabulary (
    owner_id uuid NOT NULL,
    word text COLLATE "C" NOT NULL,
    PRIMARY KEY (owner_id, word)
);
CREATE INDEX IF NOT EXISTS vocabulary_trigrams ON read_model.vocabulary
    USING gin (owner_id, word gin_trgm_ops);
-- The GIN indexes take new entries in at once, without a pending list. With one
-- (up to 4 MB), every scan of an index read the whole list, so searches after a
-- burst of uploads slowed down, and the write that filled it moved it into the
-- index: tagging a document of ten pages of text took up to a few hundred ms.
-- Entries pending from before are moved in now; an empty list costs nothing.
ALTER INDEX read_model.documents_tags SET (fastupdate = off);
ALTER INDEX read_model.documents_match_rank SET (fastupdate = off);
ALTER INDEX read_model.vocabulary_trigrams SET (fastupdate = off);
SELECT gin_clean_pending_list(i::regclass) FROM unnest(ARRAY[
    'read_model.documents_tags', 'read_model.documents_match_rank',
    'read_model.vocabulary_trigrams']) AS i;

CREATE TABLE IF NOT EXISTS read_model.pages (
    document_id uuid NOT NULL,
    number integer NOT NULL,
    text text NOT NULL,
    search_vector tsvector NOT NULL,
    PRIMARY KEY (document_id, number)
);
-- Search reads pages by document only, for the hits it shows.
DROP INDEX IF EXISTS read_model.pages_search;

-- Every event of every document, as published, for history and time travel.
CREATE TABLE IF NOT EXISTS read_model.document_events (
    document_id uuid NOT NULL,
    version integer NOT NULL,
    position bigint NOT NULL UNIQUE,
    type text NOT NULL,
    schema_version integer NOT NULL,
    timestamp timestamptz NOT NULL,
    actor text,
    data jsonb NOT NULL,
    PRIMARY KEY (document_id, version)
);
