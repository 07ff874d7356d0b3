import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, PostgresDialect, type LogEvent, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.ts';
import { preparedName } from './prepared.ts';
import type { DB } from './types.ts';

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database {
  db: Kysely<DB>;
  kind: DatabaseKind;
  /** Subscribe to a notification channel (LISTEN on PostgreSQL, PGlite's own in-process listen). */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Send a notification outside any transaction. */
  notify(channel: string, payload?: string): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; absent means PGlite. */
  url?: string;
  /** PGlite data folder; absent means in memory. */
  dataDir?: string;
  /** An already open PGlite instance (tests clone one). */
  pglite?: PGlite;
  poolSize?: number;
  /**
   * PostgreSQL: how long a connection of the general pool may sit idle before it is closed (default
   * 10,000 ms). The hot path's connections (named statements) are never closed for idleness.
   */
  idleTimeoutMs?: number;
  /** false: the hot path's connections close when idle too, as before 2026-11-23 (benchmark baselines). */
  keepHotConnections?: boolean;
  /** Called for every query (tests count queries with it). */
  log?: (event: LogEvent) => void;
}

// int8 and numeric as JavaScript numbers on pg, as PGlite already returns them: counts and seqs stay far
// below 2^53, and one shape for both backends keeps tests honest.
const pgTypes = {
  getTypeParser(oid: number, format?: any) {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export async function createDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) return createPostgres(options.url, options.poolSize ?? 10, options.idleTimeoutMs ?? 10_000, options.keepHotConnections ?? true, options.log);
  const instance = options.pglite ?? (await PGlite.create({ dataDir: options.dataDir, extensions: { pg_trgm } }));
  return createPGlite(instance, !options.pglite, options.log);
}

function createPostgres(url: string, poolSize: number, idleTimeoutMs: number, keepHot: boolean, log?: (event: LogEvent) => void): Database {
  // application_name tells the two pools apart in pg_stat_activity (a fallback: one set in DATABASE_URL
  // or PGAPPNAME wins).
  // TCP keepalive: the hot pool's connections stay open through quiet spells, which a firewall or NAT
  // between the server and PostgreSQL could otherwise drop without a word.
  const common = { connectionString: url, types: pgTypes as any, keepAlive: true };
  const pool = new pg.Pool({ ...common, max: poolSize, idleTimeoutMillis: idleTimeoutMs, fallback_application_name: 'wicket' });
  // The hot path's named statements (preparedText) run on connections of their own that always use the
  // statement's generic plan: with plan_cache_mode = auto, PostgreSQL keeps re-planning the audit INSERT
  // for every execution (its array parameters make each custom plan look cheaper than the generic one),
  // ~1 ms per INSERT on the benchmark VM. Other queries keep the default (custom plans for their values).
  // Once opened they are kept however long they sit idle (min = max): agents call in bursts with quiet
  // spells between, and a call after a spell would otherwise pay a new connection, its SET and its
  // statements' preparation (the first call after 12 s idle: 15.0–18.7 ms with the pool's default 10 s
  // idle timeout, 4.9–8.3 ms with the connections kept; docs/benchmarks.md).
  const hotMax = Math.max(2, Math.ceil(poolSize / 2));
  const hot = new pg.Pool({ ...common, max: hotMax, min: keepHot ? hotMax : 0, idleTimeoutMillis: idleTimeoutMs, fallback_application_name: 'wicket hot path' });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  hot.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparingPool(pool, hot) }), log });
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;

  async function getListenClient(): Promise<pg.Client> {
    if (listenClient) return listenClient;
    connecting ??= (async () => {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {
        // A lost LISTEN connection only delays delivery: readers also catch up periodically.
        if (listenClient === client) listenClient = undefined;
        connecting = undefined;
      });
      client.on('notification', (msg) => {
        for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload ?? '');
      });
      await client.connect();
      for (const channel of listeners.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      listenClient = client;
      return client;
    })();
    try {
      return await connecting;
    } finally {
      connecting = undefined;
    }
  }

  return {
    db,
    kind: 'postgres',
    async listen(channel, onNotify) {
      let set = listeners.get(channel);
      const first = !set;
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(onNotify);
      const client = await getListenClient();
      if (first) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      return async () => {
        set!.delete(onNotify);
      };
    },
    async notify(channel, payload = '') {
      await pool.query('select pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      const client = listenClient;
      listenClient = undefined;
      await client?.end().catch(() => {});
      await db.destroy();
    },
  };
}

/**
 * The pool as Kysely sees it. Texts declared with `preparedText` are sent as named prepared statements: on
 * the `hot` pool (generic plans) while this connection has not needed a main-pool session, otherwise on
 * that session. A transaction starts with `begin`, which takes the session, so everything inside it stays
 * there; a root-level hot statement never holds a main-pool connection.
 */
function preparingPool(pool: pg.Pool, hot: pg.Pool): PostgresPool {
  // A SET on each hot connection before its first statement, not a startup option: a DATABASE_URL with
  // its own ?options= would replace those, and PgBouncer refuses them. Should the SET fail (PostgreSQL
  // before 12), the statements still run, with PostgreSQL's default plan choice.
  const generic = new WeakSet<pg.PoolClient>();
  async function hotQuery(query: pg.QueryConfig): Promise<pg.QueryResult> {
    const client = await hot.connect();
    try {
      if (!generic.has(client)) {
        await client.query('set plan_cache_mode = force_generic_plan').catch(() => {});
        generic.add(client);
      }
      const result = await client.query(query);
      client.release();
      return result;
    } catch (error) {
      // As pg's pool.query does: a client whose query failed is not reused (it may be broken).
      client.release(error as Error);
      throw error;
    }
  }
  return {
    async connect() {
      let session: Promise<pg.PoolClient> | undefined;
      let released = false;
      return {
        async query(sqlText: unknown, parameters: readonly unknown[]) {
          const name = typeof sqlText === 'string' ? preparedName(sqlText) : undefined;
          const named = name && { name, text: sqlText as string, values: parameters as unknown[] };
          if (named && !session) return hotQuery(named);
          session ??= pool.connect();
          const client = await session;
          return named ? client.query(named) : client.query(sqlText as string, parameters as unknown[]);
        },
        release() {
          if (released) return;
          released = true;
          // A session still being connected is given back once it arrives.
          void session?.then(
            (client) => client.release(),
            () => {},
          );
        },
      } as unknown as PostgresPoolClient;
    },
    end: async () => {
      await pool.end();
      await hot.end();
    },
  };
}

function createPGlite(instance: PGlite, owned: boolean, log?: (event: LogEvent) => void): Database {
  const db = new Kysely<DB>({ dialect: new PGliteDialect(instance), log });
  return {
    db,
    kind: 'pglite',
    async listen(channel, onNotify) {
      const unsubscribe = await instance.listen(channel, onNotify);
      return async () => unsubscribe();
    },
    async notify(channel, payload = '') {
      await instance.query('select pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      await db.destroy();
      if (owned && !instance.closed) await instance.close();
    },
  };
}
