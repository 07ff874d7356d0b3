import { demoCatalogs } from './catalog.ts';
import { startUpstreamServer, type UpstreamServer, type UpstreamServerOptions } from './server.ts';

export interface DemoUpstreamsOptions {
  /** Per service key, the `Authorization` header each upstream requires (none when absent). */
  expectedAuthorization?: Partial<Record<string, string>>;
  /** Applied to every server. */
  onCall?: UpstreamServerOptions['onCall'];
  slowMs?: number;
  jsonResponse?: boolean;
}

export interface DemoUpstreams {
  /** Keyed by service: `github`, `slack`, `linear`. */
  servers: Record<string, UpstreamServer>;
  close(): Promise<void>;
}

/** Starts one demo upstream per demo catalog, each on its own free loopback port. */
export async function startDemoUpstreams(options: DemoUpstreamsOptions = {}): Promise<DemoUpstreams> {
  const started = await Promise.allSettled(
    demoCatalogs.map((catalog) =>
      startUpstreamServer({
        catalog,
        expectedAuthorization: options.expectedAuthorization?.[catalog.service],
        onCall: options.onCall,
        slowMs: options.slowMs,
        jsonResponse: options.jsonResponse,
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const close = async () => {
    await Promise.all(servers.map((s) => s.close()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  return { servers: Object.fromEntries(demoCatalogs.map((c, i) => [c.service, servers[i]])), close };
}
