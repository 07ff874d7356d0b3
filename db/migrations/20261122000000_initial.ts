import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from packages/. Same SQL on PostgreSQL 15 and PGlite (PostgreSQL 18).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);

  await sql`
    create table accounts (
      id uuid primary key default gen_random_uuid(),
      email text not null,
      name text not null default '',
      created_at timestamptz not null default now()
    );
    create unique index accounts_email_key on accounts (lower(email));

    create table api_tokens (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references accounts(id) on delete cascade,
      name text not null default '',
      token_digest text not null unique,
      suffix text not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );
    create index api_tokens_account_idx on api_tokens (account_id);

    create table sign_in_codes (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references accounts(id) on delete cascade,
      code_digest text not null unique,
      kind text not null default 'code' check (kind in ('code', 'link')),
      expires_at timestamptz not null,
      used_at timestamptz,
      attempts int not null default 0,
      created_at timestamptz not null default now()
    );
    create index sign_in_codes_account_idx on sign_in_codes (account_id, created_at desc);

    create table sessions (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references accounts(id) on delete cascade,
      token_digest text not null unique,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz
    );
    create index sessions_account_idx on sessions (account_id);

    create table agents (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      tags text[] not null default '{}',
      status text not null default 'active' check (status in ('active', 'disabled')),
      trust_mode text not null default 'trusted' check (trust_mode in ('trusted', 'untrusted')),
      timezone text not null default 'UTC',
      created_by uuid references accounts(id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index agents_name_trgm on agents using gin (name gin_trgm_ops);

    create table connectors (
      service text primary key check (service ~ '^[a-z][a-z0-9_-]*$' and position('__' in service) = 0),
      name text not null,
      upstream_url text,
      cedar_namespace text not null,
      credentials_encrypted text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table connector_tools (
      service text not null references connectors(service) on delete cascade,
      name text not null,
      description text not null default '',
      tier text not null check (tier in ('read', 'write', 'destructive')),
      sensitive_keys text[] not null default '{}',
      input_schema jsonb not null default '{"type":"object"}',
      primary key (service, name)
    );

    create table agent_services (
      agent_id uuid not null references agents(id) on delete cascade,
      service text not null references connectors(service),
      created_at timestamptz not null default now(),
      primary key (agent_id, service)
    );

    create table members (
      id uuid primary key default gen_random_uuid(),
      agent_id uuid not null references agents(id) on delete cascade,
      account_id uuid not null references accounts(id) on delete cascade,
      role text not null default 'member' check (role in ('owner', 'member')),
      status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
      display_name text not null default '',
      email text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (agent_id, account_id)
    );
    create index members_account_idx on members (account_id);

    create table member_keys (
      id uuid primary key default gen_random_uuid(),
      key_id text not null unique,
      member_id uuid not null references members(id) on delete cascade,
      key_digest text not null unique,
      suffix text not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    );
    create index member_keys_member_idx on member_keys (member_id);

    create table policies (
      id uuid primary key default gen_random_uuid(),
      agent_id uuid not null references agents(id) on delete cascade,
      key text not null,
      name text not null,
      service text not null,
      effect text not null check (effect in ('permit', 'forbid')),
      enabled boolean not null default true,
      current_version int not null default 1,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (agent_id, key)
    );
    create index policies_agent_service_idx on policies (agent_id, service);

    create table policy_versions (
      policy_id uuid not null references policies(id) on delete cascade,
      version int not null,
      content jsonb not null,
      cedar text not null,
      created_by uuid references accounts(id),
      created_at timestamptz not null default now(),
      primary key (policy_id, version)
    );

    create table admin_activity (
      id uuid primary key default gen_random_uuid(),
      account_id uuid references accounts(id),
      agent_id uuid references agents(id) on delete set null,
      action text not null,
      target_type text not null,
      target_id text,
      before jsonb,
      after jsonb,
      created_at timestamptz not null default now()
    );
    create index admin_activity_agent_idx on admin_activity (agent_id, created_at desc);
  `.execute(db);

  // Policy versions are immutable: a content change is a new row.
  await sql`
    create function wicket_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'P0001';
    end $$;
    create trigger policy_versions_immutable before update or delete on policy_versions
      for each row execute function wicket_refuse_change();
  `.execute(db);

  // Audit entries. seq is the commit order: every insert statement first takes a transaction-scoped
  // advisory lock (statement trigger below) and only then draws seq values, so a transaction that commits
  // later always holds larger seqs than every one committed before it. Live readers page by seq.
  await sql`
    create sequence audit_entries_seq_seq;
    create table audit_entries (
      id uuid primary key default gen_random_uuid(),
      seq bigint not null default nextval('audit_entries_seq_seq'),
      -- millisecond precision: cursors carry the timestamp through JavaScript Dates without loss
      timestamp timestamptz(3) not null default now(),
      agent_id uuid not null,
      agent_name text not null,
      member_id uuid,
      member_name text not null default '',
      member_key_id text,
      session_id text,
      service text not null,
      tool text not null,
      action text not null default '',
      resource text not null default '',
      caller_ip text,
      tool_args jsonb not null default '{}',
      decision text not null check (decision in ('ALLOW', 'DENY')),
      reason text not null default '',
      policy_id uuid,
      matched_policy_ids uuid[] not null default '{}',
      matched_policies jsonb not null default '[]',
      principal text not null default '',
      duration_ms int,
      upstream_status text,
      upstream_error text,
      completed_at timestamptz
    );
    alter sequence audit_entries_seq_seq owned by audit_entries.seq;
    create unique index audit_entries_seq_key on audit_entries (seq);
    create index audit_entries_ts_idx on audit_entries (timestamp desc, id desc);
    create index audit_entries_agent_ts_idx on audit_entries (agent_id, timestamp desc, id desc);
    create index audit_entries_member_ts_idx on audit_entries (member_id, timestamp desc, id desc);
    create index audit_entries_decision_ts_idx on audit_entries (decision, timestamp desc, id desc);
    create index audit_entries_service_ts_idx on audit_entries (service, timestamp desc, id desc);
    create index audit_entries_agent_decision_ts_idx on audit_entries (agent_id, decision, timestamp desc, id desc);
    create index audit_entries_service_decision_ts_idx on audit_entries (service, decision, timestamp desc, id desc);
    create index audit_entries_member_decision_ts_idx on audit_entries (member_id, decision, timestamp desc, id desc);
    create index audit_entries_tool_ts_idx on audit_entries (tool, timestamp desc, id desc);
    create index audit_entries_tool_trgm on audit_entries using gin (tool gin_trgm_ops);
    create index audit_entries_agent_name_trgm on audit_entries using gin (agent_name gin_trgm_ops);

    -- policy filter: entries in which a policy matched, in the list's order
    create table audit_policy_matches (
      policy_id uuid not null,
      timestamp timestamptz(3) not null,
      entry_id uuid not null,
      primary key (policy_id, timestamp, entry_id)
    );
    create index audit_policy_matches_order_idx on audit_policy_matches (policy_id, timestamp desc, entry_id desc);
  `.execute(db);

  // Rollups for stats, maintained on write by a statement-level trigger (one aggregate per insert
  // statement, so a batched insert of many entries costs one upsert per distinct bucket/dimension row).
  await sql`
    create table audit_rollups (
      granularity text not null check (granularity in ('minute', 'hour')),
      bucket timestamptz not null,
      agent_id uuid not null,
      agent_name text not null,
      member_id uuid,
      service text not null,
      tool text not null,
      decision text not null,
      policy_id uuid,
      count bigint not null,
      duration_sum bigint not null default 0
    );
    create unique index audit_rollups_key on audit_rollups
      (granularity, bucket, agent_id, agent_name, member_id, service, tool, decision, policy_id) nulls not distinct;

    create table audit_policy_rollups (
      granularity text not null check (granularity in ('minute', 'hour')),
      bucket timestamptz not null,
      matched_policy_id uuid not null,
      agent_id uuid not null,
      agent_name text not null,
      member_id uuid,
      service text not null,
      tool text not null,
      decision text not null,
      policy_id uuid,
      count bigint not null
    );
    create unique index audit_policy_rollups_key on audit_policy_rollups
      (granularity, matched_policy_id, bucket, agent_id, agent_name, member_id, service, tool, decision, policy_id) nulls not distinct;
  `.execute(db);

  await sql`
    create function wicket_audit_lock() returns trigger language plpgsql as $$
    begin
      perform pg_advisory_xact_lock(7142005);
      return null;
    end $$;

    create function wicket_audit_after_insert() returns trigger language plpgsql as $$
    begin
      insert into audit_policy_matches (policy_id, timestamp, entry_id)
        select p, n.timestamp, n.id from new_rows n cross join lateral unnest(n.matched_policy_ids) as p;

      insert into audit_rollups as r (granularity, bucket, agent_id, agent_name, member_id, service, tool, decision, policy_id, count, duration_sum)
        select g.granularity, date_trunc(g.granularity, n.timestamp, 'UTC'), n.agent_id, n.agent_name, n.member_id, n.service, n.tool,
               n.decision, n.policy_id, count(*), coalesce(sum(n.duration_ms), 0)
        from new_rows n cross join (values ('minute'), ('hour')) as g(granularity)
        group by 1, 2, 3, 4, 5, 6, 7, 8, 9
        on conflict (granularity, bucket, agent_id, agent_name, member_id, service, tool, decision, policy_id)
        do update set count = r.count + excluded.count, duration_sum = r.duration_sum + excluded.duration_sum;

      insert into audit_policy_rollups as r (granularity, bucket, matched_policy_id, agent_id, agent_name, member_id, service, tool, decision, policy_id, count)
        select g.granularity, date_trunc(g.granularity, n.timestamp, 'UTC'), p, n.agent_id, n.agent_name, n.member_id, n.service, n.tool,
               n.decision, n.policy_id, count(*)
        from new_rows n cross join lateral unnest(n.matched_policy_ids) as p cross join (values ('minute'), ('hour')) as g(granularity)
        group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
        on conflict (granularity, matched_policy_id, bucket, agent_id, agent_name, member_id, service, tool, decision, policy_id)
        do update set count = r.count + excluded.count;
      return null;
    end $$;

    -- Append-only: the outcome columns may be filled once (while completed_at is null), nothing else
    -- changes; rows leave only through wicket_purge_audit_before(), which sets wicket.purge for its
    -- own transaction.
    create function wicket_audit_guard() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        if coalesce(current_setting('wicket.purge', true), '') = 'on' then
          return old;
        end if;
        raise exception 'audit_entries is append-only: DELETE refused' using errcode = 'P0001';
      end if;
      if old.completed_at is not null then
        raise exception 'audit_entries is append-only: outcome already recorded' using errcode = 'P0001';
      end if;
      if (new.id, new.seq, new.timestamp, new.agent_id, new.agent_name, new.member_id, new.member_name,
          new.member_key_id, new.session_id, new.service, new.tool, new.action, new.resource, new.caller_ip,
          new.tool_args, new.decision, new.reason, new.policy_id, new.matched_policy_ids, new.matched_policies,
          new.principal)
         is distinct from
         (old.id, old.seq, old.timestamp, old.agent_id, old.agent_name, old.member_id, old.member_name,
          old.member_key_id, old.session_id, old.service, old.tool, old.action, old.resource, old.caller_ip,
          old.tool_args, old.decision, old.reason, old.policy_id, old.matched_policy_ids, old.matched_policies,
          old.principal) then
        raise exception 'audit_entries is append-only: only the outcome may be recorded' using errcode = 'P0001';
      end if;
      if new.completed_at is null then
        new.completed_at := now();
      end if;
      return new;
    end $$;

    create trigger audit_entries_lock before insert on audit_entries
      for each statement execute function wicket_audit_lock();
    create trigger audit_entries_rollup after insert on audit_entries
      referencing new table as new_rows for each statement execute function wicket_audit_after_insert();
    create trigger audit_entries_guard before update or delete on audit_entries
      for each row execute function wicket_audit_guard();
    create trigger audit_entries_no_truncate before truncate on audit_entries
      for each statement execute function wicket_refuse_change();

    -- Retention: removes whole old time ranges (and their rollups and policy matches).
    create function wicket_purge_audit_before(cutoff timestamptz) returns bigint language plpgsql as $$
    declare removed bigint;
    begin
      perform set_config('wicket.purge', 'on', true);
      delete from audit_entries where timestamp < cutoff;
      get diagnostics removed = row_count;
      perform set_config('wicket.purge', 'off', true);
      delete from audit_policy_matches where timestamp < cutoff;
      delete from audit_rollups where bucket + (case granularity when 'minute' then interval '1 minute' else interval '1 hour' end) <= cutoff;
      delete from audit_policy_rollups where bucket + (case granularity when 'minute' then interval '1 minute' else interval '1 hour' end) <= cutoff;
      return removed;
    end $$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop function if exists wicket_purge_audit_before(timestamptz);
    drop table if exists audit_policy_rollups, audit_rollups, audit_policy_matches, audit_entries, admin_activity,
      policy_versions, policies, member_keys, members, agent_services, connector_tools, connectors, agents,
      sessions, sign_in_codes, api_tokens, accounts cascade;
    drop function if exists wicket_audit_guard(), wicket_audit_after_insert(), wicket_audit_lock(), wicket_refuse_change();
  `.execute(db);
}
