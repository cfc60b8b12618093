-- The PostgreSQL read models. Everything here can be dropped and rebuilt from
-- the event store with `paperledger rebuild`.
CREATE SCHEMA IF NOT EXISTS read_model;

-- Last event position each projector has applied, written in the same
-- transaction as the read-model change it belongs to.
CREATE TABLE IF NOT EXISTS read_model.positions (
    projector text PRIMARY KEY,
    position bigint NOT NULL
);

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
    -- Title and tags, weighted above page text in search.
    search_vector tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX IF NOT EXISTS documents_folder ON read_model.documents (folder_id, title);
CREATE INDEX IF NOT EXISTS documents_owner ON read_model.documents (owner_id, updated_at);
CREATE INDEX IF NOT EXISTS documents_tags ON read_model.documents USING gin (tags);
CREATE INDEX IF NOT EXISTS documents_search ON read_model.documents
    USING gin (search_vector);

CREATE TABLE IF NOT EXISTS read_model.pages (
    document_id uuid NOT NULL,
    number integer NOT NULL,
    text text NOT NULL,
    search_vector tsvector NOT NULL,
    PRIMARY KEY (document_id, number)
);
CREATE INDEX IF NOT EXISTS pages_search ON read_model.pages USING gin (search_vector);

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
