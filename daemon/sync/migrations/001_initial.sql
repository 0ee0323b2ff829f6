-- Team sync, server schema version 1: sessions, turns and messages of every developer,
-- one row per local row (same UUID), each stamped with its owner's role and the version it
-- had locally. Row-level security: a role writes only its own rows and reads its own plus
-- the sessions shared with a team (a group role) it is a member of.
CREATE SCHEMA IF NOT EXISTS deputydev;

CREATE TABLE deputydev.schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by name NOT NULL DEFAULT current_user
);

CREATE TABLE deputydev.sessions (
    id uuid PRIMARY KEY,
    owner name NOT NULL DEFAULT current_user,
    team text,
    visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'team')),
    workspace text NOT NULL,
    title text NOT NULL,
    model text,
    pinned boolean NOT NULL DEFAULT false,
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_team_updated ON deputydev.sessions (team, updated_at DESC);
CREATE INDEX sessions_owner_updated ON deputydev.sessions (owner, updated_at DESC);

CREATE TABLE deputydev.turns (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL,
    owner name NOT NULL DEFAULT current_user,
    seq integer NOT NULL,
    query text NOT NULL,
    focus_items jsonb NOT NULL DEFAULT '[]',
    agent text,
    model text,
    status text NOT NULL,
    usage jsonb NOT NULL DEFAULT '{}',
    cost_usd double precision,
    timings jsonb NOT NULL DEFAULT '{}',
    error text,
    summary text,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    version bigint NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX turns_session ON deputydev.turns (session_id, seq);

CREATE TABLE deputydev.messages (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL,
    turn_id uuid NOT NULL,
    owner name NOT NULL DEFAULT current_user,
    seq integer NOT NULL,
    role text NOT NULL,
    content jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    version bigint NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_session ON deputydev.messages (session_id);
CREATE INDEX messages_turn ON deputydev.messages (turn_id, seq);

-- The group roles the current role belongs to (directly or not), itself included.
CREATE FUNCTION deputydev.my_teams() RETURNS SETOF text
    LANGUAGE sql STABLE
    AS $$ SELECT rolname::text FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') $$;

-- A session this role may read: its own, or shared with one of its teams.
CREATE FUNCTION deputydev.readable(s_owner name, s_visibility text, s_team text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT s_owner = current_user
              OR (s_visibility = 'team' AND s_team IN (SELECT deputydev.my_teams())) $$;

ALTER TABLE deputydev.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE deputydev.turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.turns FORCE ROW LEVEL SECURITY;
ALTER TABLE deputydev.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE deputydev.messages FORCE ROW LEVEL SECURITY;

CREATE POLICY sessions_read ON deputydev.sessions FOR SELECT
    USING (deputydev.readable(owner, visibility, team));
CREATE POLICY sessions_insert ON deputydev.sessions FOR INSERT
    WITH CHECK (owner = current_user AND (team IS NULL OR team IN (SELECT deputydev.my_teams())));
CREATE POLICY sessions_update ON deputydev.sessions FOR UPDATE
    USING (owner = current_user)
    WITH CHECK (owner = current_user AND (team IS NULL OR team IN (SELECT deputydev.my_teams())));
CREATE POLICY sessions_delete ON deputydev.sessions FOR DELETE
    USING (owner = current_user);

-- A turn or message is readable when it is one's own, or when its session is readable and
-- it was written by the session's owner (so nobody can slip rows into another's session).
CREATE POLICY turns_read ON deputydev.turns FOR SELECT
    USING (owner = current_user OR EXISTS (
        SELECT 1 FROM deputydev.sessions s
        WHERE s.id = turns.session_id AND s.owner = turns.owner
          AND deputydev.readable(s.owner, s.visibility, s.team)));
CREATE POLICY turns_insert ON deputydev.turns FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY turns_update ON deputydev.turns FOR UPDATE
    USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY turns_delete ON deputydev.turns FOR DELETE USING (owner = current_user);

CREATE POLICY messages_read ON deputydev.messages FOR SELECT
    USING (owner = current_user OR EXISTS (
        SELECT 1 FROM deputydev.sessions s
        WHERE s.id = messages.session_id AND s.owner = messages.owner
          AND deputydev.readable(s.owner, s.visibility, s.team)));
CREATE POLICY messages_insert ON deputydev.messages FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY messages_update ON deputydev.messages FOR UPDATE
    USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY messages_delete ON deputydev.messages FOR DELETE USING (owner = current_user);

-- Rows are guarded by the policies above; who may connect at all is the database's CONNECT
-- privilege, which the team admin grants (docs/SYNC.md).
GRANT USAGE ON SCHEMA deputydev TO PUBLIC;
GRANT SELECT ON deputydev.schema_version TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON deputydev.sessions, deputydev.turns, deputydev.messages
    TO PUBLIC;
