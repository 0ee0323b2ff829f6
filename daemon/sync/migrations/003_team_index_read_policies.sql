-- Team index, server schema version 3: cheaper read policies on the published code.
--
-- Version 2's policies called deputydev.code_readable() on every row; a SQL function with
-- sub-selects is not inlined, so each row scanned pg_roles again (10 s for a full-text
-- search over 100,000 published chunks). Here the roles the reader belongs to are an
-- array computed once per query (an InitPlan), and each row costs two comparisons.

-- The group roles the current role belongs to (directly or not), itself included.
CREATE FUNCTION deputydev.my_team_array() RETURNS text[]
    LANGUAGE sql STABLE
    AS $$ SELECT COALESCE(array_agg(rolname::text), '{}') FROM pg_roles
          WHERE pg_has_role(current_user, oid, 'MEMBER') $$;

DROP POLICY repos_read ON deputydev.code_repos;
CREATE POLICY repos_read ON deputydev.code_repos FOR SELECT
    USING (owner = current_user
           OR (team = ANY ((SELECT deputydev.my_team_array())::text[])
               AND (readers IS NULL
                    OR readers = ANY ((SELECT deputydev.my_team_array())::text[]))));

DROP POLICY files_read ON deputydev.code_files;
CREATE POLICY files_read ON deputydev.code_files FOR SELECT
    USING (owner = current_user
           OR (team = ANY ((SELECT deputydev.my_team_array())::text[])
               AND (readers IS NULL
                    OR readers = ANY ((SELECT deputydev.my_team_array())::text[]))));

DROP POLICY chunks_read ON deputydev.code_chunks;
CREATE POLICY chunks_read ON deputydev.code_chunks FOR SELECT
    USING (owner = current_user
           OR (team = ANY ((SELECT deputydev.my_team_array())::text[])
               AND (readers IS NULL
                    OR readers = ANY ((SELECT deputydev.my_team_array())::text[]))));

-- Full-text search of the published code. Under row-level security PostgreSQL may not
-- evaluate `tsv @@ query` (not leakproof) before the policy, so the GIN index went unused
-- and every search read every row. This function, owned by the schema's owner (who reads
-- code_chunks without the policies: they are no longer forced on the owner), applies
-- the same rule for the role that connected, and the index serves the match. Callers pass
-- only a tsquery, a depth and repository names: no expression of theirs runs inside.
ALTER TABLE deputydev.code_chunks NO FORCE ROW LEVEL SECURITY;

CREATE FUNCTION deputydev.search_code_text(p_query tsquery, p_depth integer, p_repos text[])
    RETURNS TABLE (id bigint, rank real)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
    WITH me AS (
        SELECT COALESCE(array_agg(rolname::text), '{}') AS teams FROM pg_catalog.pg_roles
        WHERE pg_catalog.pg_has_role(session_user, oid, 'MEMBER')
    )
    SELECT c.id, pg_catalog.ts_rank_cd(c.tsv, p_query) AS rank
    FROM deputydev.code_chunks c, me
    WHERE c.tsv @@ p_query
      AND (c.owner = session_user
           OR (c.team = ANY (me.teams) AND (c.readers IS NULL OR c.readers = ANY (me.teams))))
      AND (p_repos IS NULL OR c.repo_id IN (
           SELECT r.id FROM deputydev.code_repos r WHERE r.name = ANY (p_repos)))
    ORDER BY rank DESC, c.id
    LIMIT LEAST(GREATEST(p_depth, 1), 1000)
$$;
REVOKE ALL ON FUNCTION deputydev.search_code_text(tsquery, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deputydev.search_code_text(tsquery, integer, text[]) TO PUBLIC;
