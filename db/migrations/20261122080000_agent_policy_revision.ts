import { sql, type Kysely } from 'kysely';

// Frozen in time: imports nothing from packages/.
//
// The proxy needs, on every call, to know whether its cached policy set of the agent is still current.
// It used to ask with an aggregate over all the agent's policy rows (md5 of ids, versions and enabled
// flags): a query of its own on every call. A counter on the agent, raised by a trigger in the same
// transaction as any change to the agent's policies, is read with the caller's key in the one lookup a
// call makes, so the policy check costs no round trip, and a change committed on any server instance is
// seen by the very next call on every instance. (Triggers do not fire with session_replication_role =
// replica, which logical replication and some restore tools set: after such a load, restart the servers.)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table agents add column policy_revision bigint not null default 0;

    create function wicket_policy_revision() returns trigger language plpgsql as $$
    begin
      update agents set policy_revision = policy_revision + 1
        where id = (case when tg_op = 'DELETE' then old.agent_id else new.agent_id end);
      if tg_op = 'UPDATE' and old.agent_id is distinct from new.agent_id then
        update agents set policy_revision = policy_revision + 1 where id = old.agent_id;
      end if;
      return null;
    end $$;

    create trigger policies_revision after insert or update or delete on policies
      for each row execute function wicket_policy_revision();

    -- TRUNCATE (a restore script clearing the table) fires no row trigger: every agent's revision goes up.
    create function wicket_policy_revision_all() returns trigger language plpgsql as $$
    begin
      update agents set policy_revision = policy_revision + 1;
      return null;
    end $$;

    create trigger policies_revision_truncate after truncate on policies
      for each statement execute function wicket_policy_revision_all();
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop trigger policies_revision_truncate on policies;
    drop function wicket_policy_revision_all();
    drop trigger policies_revision on policies;
    drop function wicket_policy_revision();
    alter table agents drop column policy_revision;
  `.execute(db);
}
