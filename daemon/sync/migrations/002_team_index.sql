-- Team index, server schema version 2: a shared embedding cache (vectors by embedder and
-- chunk content hash, so a team embeds each chunk once) and published repositories for
-- team search (chunk metadata, redacted text, a tsvector, and the vectors).
--
-- Vectors are pgvector's `vector` when the server has the extension (the admin's setup SQL
-- creates it; this migration tries too), else `bytea` (little-endian float32): the cache
-- still works, and team search is full-text only until pgvector is installed and
-- `deputydev sync migrate` is run again (it converts the columns).

DO $$ BEGIN
    CREATE EXTENSION IF NOT EXISTS vector;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pgvector is not available (%): vectors are stored as bytea', SQLERRM;
END $$;

-- The vector column's type: vector when pgvector is installed, else bytea.
CREATE FUNCTION deputydev.vector_type() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT COALESCE(
        (SELECT format('%I.vector', n.nspname) FROM pg_extension e
           JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'),
        'bytea') $$;

CREATE TABLE deputydev.embedding_cache (
    embedder text NOT NULL,
    content_hash text NOT NULL,
    dims integer NOT NULL CHECK (dims BETWEEN 1 AND 16000),
    owner name NOT NULL DEFAULT current_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (embedder, content_hash)
);

-- A published repository: one row per (team, name), owned by the developer who published it.
-- `readers` narrows who may read it to the members of one role; NULL means the whole team.
CREATE TABLE deputydev.code_repos (
    id uuid PRIMARY KEY,
    team text NOT NULL,
    name text NOT NULL,
    readers text,
    owner name NOT NULL DEFAULT current_user,
    commit text,
    embedder text,
    dims integer,
    files integer NOT NULL DEFAULT 0,
    chunks integer NOT NULL DEFAULT 0,
    published_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team, name)
);

-- What was published of each file: republishing sends only the files whose hash changed.
CREATE TABLE deputydev.code_files (
    repo_id uuid NOT NULL REFERENCES deputydev.code_repos (id) ON DELETE CASCADE,
    path text NOT NULL,
    hash text NOT NULL,
    language text,
    commit text,
    team text NOT NULL,
    readers text,
    owner name NOT NULL DEFAULT current_user,
    PRIMARY KEY (repo_id, path)
);

-- team, readers and owner are the repository's, repeated so that row-level security needs
-- no join per row.
CREATE TABLE deputydev.code_chunks (
    id bigserial PRIMARY KEY,
    repo_id uuid NOT NULL,
    path text NOT NULL,
    commit text,
    start_line integer NOT NULL,
    end_line integer NOT NULL,
    symbol text,
    kind text NOT NULL,
    language text,
    content_hash text NOT NULL,
    text text NOT NULL,
    tsv tsvector NOT NULL,
    embedder text,
    team text NOT NULL,
    readers text,
    owner name NOT NULL DEFAULT current_user,
    FOREIGN KEY (repo_id, path) REFERENCES deputydev.code_files (repo_id, path) ON DELETE CASCADE
);
CREATE INDEX code_chunks_file ON deputydev.code_chunks (repo_id, path);
CREATE INDEX code_chunks_tsv ON deputydev.code_chunks USING gin (tsv);

DO $$ BEGIN
    EXECUTE format('ALTER TABLE deputydev.embedding_cache ADD COLUMN embedding %s NOT NULL',
                   deputydev.vector_type());
    EXECUTE format('ALTER TABLE deputydev.code_chunks ADD COLUMN embedding %s',
                   deputydev.vector_type());
END $$;

-- The type the vector columns have now: 'vector' or 'bytea' (they follow the server's
-- capability at migration time; `deputydev sync migrate` converts bytea once pgvector is in).
CREATE FUNCTION deputydev.vector_column() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT t.typname::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = 'deputydev.code_chunks'::regclass AND a.attname = 'embedding' $$;


-- One HNSW index per (embedder, dimensions) over the published vectors, made on the first
-- publish with that embedder. Security definer: developers may not create indexes on the
-- admin's tables, and this one only ever makes this kind of index. halfvec above 2,000
-- dimensions (HNSW's limit for vector). Returns the index name, or NULL without pgvector.
CREATE FUNCTION deputydev.ensure_code_index(p_embedder text, p_dims integer) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
    AS $$
DECLARE
    vschema text := (SELECT n.nspname FROM pg_extension e
                       JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector');
    kind text;
    index_name text := 'code_chunks_hnsw_' || substr(md5(p_embedder || '@' || p_dims), 1, 16);
BEGIN
    IF vschema IS NULL OR deputydev.vector_column() <> 'vector' THEN
        RETURN NULL;
    END IF;
    IF p_dims < 1 OR p_dims > 4000 THEN
        RAISE EXCEPTION 'cannot index % dimensions (1 to 4000)', p_dims;
    END IF;
    kind := format('%I.%s', vschema, CASE WHEN p_dims <= 2000 THEN 'vector' ELSE 'halfvec' END);
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'deputydev' AND c.relname = index_name) THEN
        PERFORM pg_advisory_xact_lock(hashtext(index_name));
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON deputydev.code_chunks USING hnsw'
            ' ((embedding::%s(%s)) %s_cosine_ops) WHERE embedder = %L',
            index_name, kind, p_dims, kind, p_embedder);
    END IF;
    RETURN index_name;
END $$;

-- A published repository (or its files and chunks) this role may read: its own, or its
-- team's when the role is a member of the team and of `readers`, if set.
CREATE FUNCTION deputydev.code_readable(r_owner name, r_team text, r_readers text)
    RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT r_owner = current_user
              OR (r_team IN (SELECT deputydev.my_teams())
                  AND (r_readers IS NULL OR r_readers IN (SELECT deputydev.my_teams()))) $$;

-- Rows a role may write: its own, in a team it belongs to, of a repository it owns.
CREATE FUNCTION deputydev.code_writable(r_repo uuid, r_owner name, r_team text)
    RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT r_owner = current_user AND r_team IN (SELECT deputydev.my_teams())
              AND EXISTS (SELECT 1 FROM deputydev.code_repos r
                          WHERE r.id = r_repo AND r.owner = current_user AND r.team = r_team) $$;

ALTER TABLE deputydev.embedding_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.embedding_cache FORCE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_repos ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_repos FORCE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_files FORCE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.code_chunks FORCE ROW LEVEL SECURITY;

-- The cache: everyone who may connect (the team) reads it and adds to it; a vector once
-- written is never changed, and only its writer may delete it.
CREATE POLICY cache_read ON deputydev.embedding_cache FOR SELECT USING (true);
CREATE POLICY cache_insert ON deputydev.embedding_cache FOR INSERT
    WITH CHECK (owner = current_user);
CREATE POLICY cache_delete ON deputydev.embedding_cache FOR DELETE
    USING (owner = current_user);

CREATE POLICY repos_read ON deputydev.code_repos FOR SELECT
    USING (deputydev.code_readable(owner, team, readers));
CREATE POLICY repos_insert ON deputydev.code_repos FOR INSERT
    WITH CHECK (owner = current_user AND team IN (SELECT deputydev.my_teams()));
CREATE POLICY repos_update ON deputydev.code_repos FOR UPDATE
    USING (owner = current_user)
    WITH CHECK (owner = current_user AND team IN (SELECT deputydev.my_teams()));
CREATE POLICY repos_delete ON deputydev.code_repos FOR DELETE USING (owner = current_user);

CREATE POLICY files_read ON deputydev.code_files FOR SELECT
    USING (deputydev.code_readable(owner, team, readers));
CREATE POLICY files_insert ON deputydev.code_files FOR INSERT
    WITH CHECK (deputydev.code_writable(repo_id, owner, team));
CREATE POLICY files_update ON deputydev.code_files FOR UPDATE
    USING (owner = current_user) WITH CHECK (deputydev.code_writable(repo_id, owner, team));
CREATE POLICY files_delete ON deputydev.code_files FOR DELETE USING (owner = current_user);

CREATE POLICY chunks_read ON deputydev.code_chunks FOR SELECT
    USING (deputydev.code_readable(owner, team, readers));
CREATE POLICY chunks_insert ON deputydev.code_chunks FOR INSERT
    WITH CHECK (deputydev.code_writable(repo_id, owner, team));
CREATE POLICY chunks_update ON deputydev.code_chunks FOR UPDATE
    USING (owner = current_user) WITH CHECK (deputydev.code_writable(repo_id, owner, team));
CREATE POLICY chunks_delete ON deputydev.code_chunks FOR DELETE USING (owner = current_user);

GRANT SELECT, INSERT, DELETE ON deputydev.embedding_cache TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON deputydev.code_repos, deputydev.code_files,
    deputydev.code_chunks TO PUBLIC;
GRANT USAGE ON SEQUENCE deputydev.code_chunks_id_seq TO PUBLIC;
GRANT EXECUTE ON FUNCTION deputydev.ensure_code_index(text, integer) TO PUBLIC;
