import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from packages/.
//
// The policy filter pages through audit_policy_matches in the list's order and looks each match's entry
// up. Combined with a result or member filter, most matches of a busy policy can fail the entry-side
// check (the DENY entries of a permit policy: nearly none), and each failing match cost an entry lookup:
// 120–190 ms for an empty 7-day page over 1M entries (docs/benchmarks.md, "Audit reads"). The match
// row now carries the entry's decision and member, so those combinations are read in order from an index.
// The former (policy_id, timestamp desc, entry_id desc) index goes: the primary key read backwards gives
// the same order, and the write path keeps one index more than before rather than two.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table audit_policy_matches add column decision text, add column member_id uuid;
    update audit_policy_matches m set decision = e.decision, member_id = e.member_id from audit_entries e where e.id = m.entry_id;
    delete from audit_policy_matches where decision is null;
    alter table audit_policy_matches alter column decision set not null;
    create index audit_policy_matches_decision_idx on audit_policy_matches (policy_id, decision, timestamp desc, entry_id desc);
    create index audit_policy_matches_member_idx on audit_policy_matches (policy_id, member_id, timestamp desc, entry_id desc);
    drop index audit_policy_matches_order_idx;
    analyze audit_policy_matches;
  `.execute(db);
  await sql`
    create or replace function wicket_audit_after_insert() returns trigger language plpgsql as $$
    begin
      insert into audit_policy_matches (policy_id, timestamp, entry_id, decision, member_id)
        select p, n.timestamp, n.id, n.decision, n.member_id from new_rows n cross join lateral unnest(n.matched_policy_ids) as p;

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
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function wicket_audit_after_insert() returns trigger language plpgsql as $$
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
  `.execute(db);
  await sql`
    create index audit_policy_matches_order_idx on audit_policy_matches (policy_id, timestamp desc, entry_id desc);
    drop index audit_policy_matches_member_idx;
    drop index audit_policy_matches_decision_idx;
    alter table audit_policy_matches drop column member_id, drop column decision;
  `.execute(db);
}
