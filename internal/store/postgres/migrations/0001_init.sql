-- The catalog: frameworks, their controls, the mappings between controls,
-- the store revision and the change log replicas catch up from.

CREATE TABLE frameworks (
    id           text PRIMARY KEY,
    display_name text    NOT NULL,
    version      text    NOT NULL,
    publisher    text    NOT NULL,
    kind         integer NOT NULL,
    description  text    NOT NULL,
    tags         jsonb   NOT NULL DEFAULT '[]',
    built_in     boolean NOT NULL,
    revision     bigint  NOT NULL
);

CREATE TABLE controls (
    framework_id text    NOT NULL REFERENCES frameworks (id) ON DELETE CASCADE,
    id           text    NOT NULL,
    position     integer NOT NULL, -- document order within the framework
    parent_id    text    NOT NULL DEFAULT '',
    title        text    NOT NULL,
    summary      text    NOT NULL,
    kind         integer NOT NULL,
    assessable   boolean NOT NULL,
    aliases      text[]  NOT NULL DEFAULT '{}',
    tags         text[]  NOT NULL DEFAULT '{}',
    built_in     boolean NOT NULL,
    revision     bigint  NOT NULL,
    PRIMARY KEY (framework_id, id)
);

CREATE TABLE mappings (
    id               text PRIMARY KEY,
    source_framework text        NOT NULL,
    source_control   text        NOT NULL,
    target_framework text        NOT NULL,
    target_control   text        NOT NULL,
    relationship     integer     NOT NULL,
    strength         integer     NOT NULL CHECK (strength BETWEEN 0 AND 10),
    rationale        integer     NOT NULL,
    justification    text        NOT NULL,
    document         text        NOT NULL,
    method           integer     NOT NULL,
    status           integer     NOT NULL,
    author           text        NOT NULL,
    create_time      timestamptz,
    update_time      timestamptz,
    built_in         boolean     NOT NULL,
    -- A built-in mapping a user changed is left alone by content updates.
    user_modified    boolean     NOT NULL DEFAULT false,
    revision         bigint      NOT NULL,
    FOREIGN KEY (source_framework, source_control) REFERENCES controls (framework_id, id),
    FOREIGN KEY (target_framework, target_control) REFERENCES controls (framework_id, id),
    CHECK (source_framework <> target_framework)
);

-- A pair of controls is mapped once, in either direction. Ids contain no
-- slash, so framework/control is unambiguous.
CREATE UNIQUE INDEX mappings_pair ON mappings (
    LEAST(source_framework || '/' || source_control, target_framework || '/' || target_control),
    GREATEST(source_framework || '/' || source_control, target_framework || '/' || target_control)
);

-- Built-in mappings a user deleted: content updates do not bring them back.
CREATE TABLE deleted_built_in_mappings (
    id text PRIMARY KEY
);

-- One row: the revision, which every committed write advances by one, and
-- the version of the built-in content last loaded.
CREATE TABLE store_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision        bigint  NOT NULL,
    content_version text    NOT NULL
);
INSERT INTO store_state (revision, content_version) VALUES (0, '');

-- Every committed write, in revision order: replicas apply these, so a lost
-- notification can delay a replica but never leave it stale.
CREATE TABLE changes (
    revision    bigint PRIMARY KEY,
    kind        text   NOT NULL, -- 'mapping' (mapping_id changed) or 'content' (reload)
    mapping_id  text,
    change_time timestamptz NOT NULL DEFAULT now()
);
