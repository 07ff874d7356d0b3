// The console's read side in a real browser: sign-in (code and one-time link), the overview against the
// API's aggregates, the live audit view (a proxied call appears without a reload), every filter in the
// URL, scoping by member and policy, a DENY row's detail, and Export against the REST export.
//
// One world for the file (server on PGlite with the demo installation, `next start`, Debian's Chromium);
// the steps run in order and build on each other.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIL_ARGUMENT, SLOW_MS_ARGUMENT } from '@wicket/upstream-demo';
import { apiEntries, apiTotal, demoRefs, expectListMatchesApi, parseCount, pick, renderedRows, type DemoRefs } from './console-helpers.ts';
import { chromiumAvailable, CHROMIUM, startConsoleWorld, type ConsoleWorld } from './harness.ts';

// Without Chromium a developer's machine skips (and says why); CI, which installs it, fails instead.
const skip = !chromiumAvailable() && !process.env.CI;
if (skip) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (CI installs it; apt-get install chromium)`);

describe.skipIf(skip)('console: sign-in, overview and the audit view', { timeout: 90_000 }, () => {
  let w: ConsoleWorld;
  let demo: DemoRefs;
  // The DENY entry made through the proxy in the live step, expanded in the next one.
  let deniedEntryId = '';

  beforeAll(async () => {
    w = await startConsoleWorld();
    demo = await demoRefs(w);
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  });

  const url = (path: string) => `${w.consoleUrl}${path}`;
  const param = (name: string) => new URL(w.page.url()).searchParams.get(name);

  it('sends an unauthenticated visit to sign-in, signs in by email and code, and returns to the page asked for', async () => {
    const { page } = w;
    await page.goto(url('/audit?result=DENY'));
    await page.waitForURL((u) => u.pathname === '/sign-in');
    expect(param('next')).toBe('/audit?result=DENY');
    await page.getByTestId('sign-in-next-notice').waitFor();

    await w.completeCodeSignIn(w.ownerEmail);
    expect(w.codes.at(-1)?.email).toBe(w.ownerEmail);
    expect(w.codes.at(-1)?.code).toMatch(/^\d{6}$/);
    await page.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('result') === 'DENY');
    await expect.poll(() => page.getByTestId('viewer-email').textContent()).toBe(w.ownerEmail);
    await page.getByTestId('audit-row').first().waitFor();

    // A wrong code is refused next to the field.
    await page.getByTestId('sign-out').click();
    await page.waitForURL((u) => u.pathname === '/sign-in');
    await page.getByTestId('sign-in-email').fill(w.ownerEmail);
    await page.getByTestId('sign-in-request-code').click();
    await page.getByTestId('sign-in-code').fill('000000' === w.codes.at(-1)?.code ? '111111' : '000000');
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('sign-in-code-error').waitFor();
    expect(page.url()).toContain('/sign-in');
  });

  it('signs in with the one-time link', async () => {
    const { page } = w;
    await w.signIn('/agents');
    expect(new URL(page.url()).pathname).toBe('/agents');
    await expect.poll(() => page.getByTestId('viewer-email').textContent()).toBe(w.ownerEmail);
    // The link is single-use: opening it again does not sign anyone in.
    const token = await w.app.core.auth.createSignInLink(w.ownerAccountId);
    await page.goto(url(`/sign-in?link=${token}`));
    await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
    const second = await w.browser.newContext();
    try {
      const other = await second.newPage();
      await other.goto(url(`/sign-in?link=${token}`));
      await other.getByTestId('sign-in-link-error').waitFor();
    } finally {
      await second.close();
    }
  });

  it("shows the overview's numbers exactly as the API's auditStats for the same range", async () => {
    const { page } = w;
    const asked: Record<string, unknown>[] = [];
    const onRequest = (request: import('playwright-core').Request) => {
      if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return;
      const body = request.postDataJSON() as { query?: string; variables?: Record<string, unknown> } | null;
      if (body?.query?.includes('Overview_Stats')) asked.push(body.variables ?? {});
    };
    page.on('request', onRequest);
    try {
      for (const range of ['24h', '30d', '7d'] as const) {
        asked.length = 0;
        await page.goto(url(`/?range=${range}`));
        await page.getByTestId('stat-total').waitFor();
        expect(asked.length, `the overview asked for ${range}`).toBeGreaterThan(0);
        const variables = asked.at(-1)!;
        const data = await w.graphql(
          `query ($filter: AuditFilter, $bucket: StatsBucket) { auditStats(filter: $filter, bucket: $bucket) { total allowed denied series { start allowed denied } services { service total denied } } }`,
          variables,
        );
        const stats = data.auditStats;
        expect(stats.total, `the demo has traffic in the last ${range}`).toBeGreaterThan(0);
        expect(parseCount(await page.getByTestId('stat-total').textContent())).toBe(stats.total);
        expect(parseCount(await page.getByTestId('stat-allowed').textContent())).toBe(stats.allowed);
        expect(parseCount(await page.getByTestId('stat-denied').textContent())).toBe(stats.denied);
        expect(Number(await page.getByTestId('traffic-chart').getAttribute('data-points'))).toBe(stats.series.length);
        const services = await page.getByTestId('service-row').evaluateAll((rows) =>
          rows.map((r) => ({ service: (r as HTMLElement).dataset.service, text: r.querySelector('.muted, p, span')?.textContent ?? r.textContent })),
        );
        expect(services.map((s) => s.service).sort()).toEqual(stats.services.map((s: { service: string }) => s.service).sort());
        for (const s of stats.services) {
          const row = page.locator(`[data-testid="service-row"][data-service="${s.service}"]`);
          const text = (await row.textContent()) ?? '';
          expect(text).toContain(`${s.total.toLocaleString('en-US')} calls`);
          expect(text).toContain(`${s.denied.toLocaleString('en-US')} denied`);
        }
        if (range === '30d') await w.screenshot('overview');
      }
      // The "Denied" number links to the audit view with the same range and result=DENY.
      await page.getByTestId('stat-denied-link').click();
      await page.waitForURL((u) => u.pathname === '/audit');
      expect(param('result')).toBe('DENY');
      expect(param('from')).toBeTruthy();
    } finally {
      page.off('request', onRequest);
    }
  });

  it('shows a tool call made through the proxy in the open audit view, without a reload', async () => {
    const { page } = w;
    const agent = pick(demo.agents, 'billing-bot');
    const member = pick(demo.members, 'billing-bot:Priya Raman');
    const key = await w.memberKey(agent.id, member.id);

    await page.goto(url('/audit'));
    await expectListMatchesApi(page, w, {});
    await expect.poll(() => page.getByTestId('audit-live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('connected');
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const loadedBefore = Number(await page.getByTestId('audit-list').getAttribute('data-count'));

    const client = new Client({ name: 'wicket-browser-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${w.apiUrl}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('github__list_repositories');
      const allowed = await client.callTool({ name: 'github__list_repositories', arguments: {} });
      expect(allowed.isError ?? false).toBe(false);
      const denied = await client.callTool({ name: 'github__delete_file', arguments: { repo: 'billing-service', path: 'README.md', message: 'cleanup' } }).then(
        () => null,
        (error: { code?: number; data?: { decision?: string; auditEntryId?: string } }) => error,
      );
      expect(denied?.data?.decision).toBe('DENY');
      deniedEntryId = denied!.data!.auditEntryId!;
    } finally {
      await client.close();
    }

    const newest = await w.database.db
      .selectFrom('audit_entries')
      .select(['id', 'tool', 'decision'])
      .where('member_id', '=', member.id)
      .orderBy('timestamp', 'desc')
      .orderBy('id', 'desc')
      .limit(2)
      .execute();
    expect(newest.map((e) => [e.tool, e.decision])).toEqual([
      ['delete_file', 'DENY'],
      ['list_repositories', 'ALLOW'],
    ]);
    expect(newest[0].id).toBe(deniedEntryId);

    const top = page.locator('[data-testid="audit-row"][data-index="0"]');
    await expect.poll(() => top.getAttribute('data-entry-id'), { timeout: 10_000 }).toBe(deniedEntryId);
    const second = page.locator('[data-testid="audit-row"][data-index="1"]');
    expect(await second.getAttribute('data-entry-id')).toBe(newest[1].id);
    expect(await top.getByTestId('audit-cell-tool').textContent()).toBe('delete_file');
    expect(await top.getByTestId('audit-cell-member').textContent()).toBe('Priya Raman');
    expect(await top.getAttribute('data-decision')).toBe('DENY');
    expect(await second.getByTestId('audit-cell-decision').getAttribute('data-decision')).toBe('ALLOW');
    expect(Number(await page.getByTestId('audit-list').getAttribute('data-count'))).toBe(loadedBefore + 2);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('fills in a live row\'s duration once its forwarded call is answered, without a reload', async () => {
    const { page } = w;
    const agent = pick(demo.agents, 'billing-bot');
    const member = pick(demo.members, 'billing-bot:Priya Raman');
    const key = await w.memberKey(agent.id, member.id);
    const client = new Client({ name: 'wicket-browser-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${w.apiUrl}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
    try {
      // The upstream answers after 2.5 s; the entry is committed (and streamed) before the call is forwarded.
      const call = client.callTool({ name: 'github__list_repositories', arguments: { [FAIL_ARGUMENT]: 'slow', [SLOW_MS_ARGUMENT]: 2500 } });
      const top = page.locator('[data-testid="audit-row"][data-index="0"]');
      await expect.poll(async () => (await top.getAttribute('data-entry-id')) !== deniedEntryId && (await top.getByTestId('audit-cell-tool').textContent()) === 'list_repositories', { timeout: 2_000 }).toBe(true);
      const entryId = await top.getAttribute('data-entry-id');
      expect(await top.getByTestId('audit-cell-duration').textContent()).toBe('—');
      expect((await call).isError ?? false).toBe(false);
      const row = page.locator(`[data-testid="audit-row"][data-entry-id="${entryId}"]`);
      await expect.poll(() => row.getByTestId('audit-cell-duration').textContent(), { timeout: 10_000 }).toMatch(/^\d\.\d\d s$/);
      const stored = await w.database.db.selectFrom('audit_entries').select(['duration_ms']).where('id', '=', entryId!).executeTakeFirstOrThrow();
      expect(stored.duration_ms).toBeGreaterThanOrEqual(2500);
      expect(await row.getByTestId('audit-cell-duration').textContent()).toBe(`${(stored.duration_ms! / 1000).toFixed(2)} s`);
    } finally {
      await client.close();
    }
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('expands a DENY row to its deny message and the policy version that decided it', async () => {
    const { page } = w;
    const policy = pick(demo.policies, 'billing-bot:Block destructive GitHub ops');
    const stored = await w.database.db.selectFrom('audit_entries').select(['reason', 'policy_id', 'matched_policies']).where('id', '=', deniedEntryId).executeTakeFirstOrThrow();
    expect(stored.policy_id).toBe(policy.id);
    const version = await w.database.db
      .selectFrom('policy_versions')
      .select(['content'])
      .where('policy_id', '=', policy.id)
      .where('version', '=', policy.version)
      .executeTakeFirstOrThrow();
    const denyMessage = (version.content as { denyMessage: string }).denyMessage;
    expect(denyMessage).toBeTruthy();

    const row = page.locator(`[data-testid="audit-row"][data-entry-id="${deniedEntryId}"]`);
    await row.getByTestId('audit-row-toggle').click();
    const detail = row.getByTestId('audit-row-detail');
    await detail.waitFor();
    expect(await row.getAttribute('data-expanded')).toBe('true');
    expect(await detail.getByTestId('audit-reason').textContent()).toBe(stored.reason);
    expect(stored.reason).toContain(denyMessage);
    const matched = detail.locator(`[data-testid="matched-policy"][data-policy-id="${policy.id}"]`);
    expect(await matched.textContent()).toContain(`v${policy.version}`);
    const link = matched.getByTestId('matched-policy-link');
    expect(await link.getAttribute('href')).toBe(`/policies/${policy.id}?version=${policy.version}`);
    expect(await detail.getByTestId('audit-upstream').textContent()).toBe('not called');
    expect(await detail.getByTestId('audit-tool-args').textContent()).toContain('billing-service');
    await w.screenshot('audit');

    await link.click();
    await page.waitForURL((u) => u.pathname === `/policies/${policy.id}`);
    expect(param('version')).toBe(String(policy.version));
    await page.getByTestId('policy-page').waitFor();
    await expect.poll(() => page.locator(`[data-testid="version-row"][data-version="${policy.version}"]`).getAttribute('data-selected')).toBe('true');
    expect(await page.getByTestId('cedar-preview').textContent()).toContain('forbid');
  });

  it('narrows the rows with each filter, keeps it in the URL and across a reload', async () => {
    const { page } = w;
    const priya = pick(demo.members, 'billing-bot:Priya Raman');
    const policy = pick(demo.policies, 'billing-bot:Block destructive GitHub ops');
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const all = await apiTotal(w, {});

    type Check = (row: Awaited<ReturnType<typeof renderedRows>>[number]) => boolean;
    const cases: { name: string; value: string; kind: 'select' | 'text'; check: Check }[] = [
      { name: 'result', value: 'DENY', kind: 'select', check: (r) => r.decision === 'DENY' },
      { name: 'service', value: 'slack', kind: 'select', check: (r) => r.service === 'slack' },
      { name: 'member', value: priya.id, kind: 'select', check: (r) => r.member === 'Priya Raman' },
      { name: 'tool', value: 'issue', kind: 'text', check: (r) => r.tool.includes('issue') },
      { name: 'agent', value: 'support', kind: 'text', check: () => true },
      { name: 'policy', value: policy.id, kind: 'text', check: (r) => r.service === 'github' },
      { name: 'from', value: day(2), kind: 'text', check: (r) => r.time >= `${day(2)}T00:00:00` },
      { name: 'to', value: day(20), kind: 'text', check: (r) => r.time < `${day(19)}T00:00:00` },
    ];

    await page.goto(url('/audit'));
    await expectListMatchesApi(page, w, {});
    for (const c of cases) {
      const filter = { [c.name]: c.value };
      const total = await apiTotal(w, filter);
      expect(total, `${c.name}=${c.value} matches some entries`).toBeGreaterThan(0);
      expect(total, `${c.name}=${c.value} narrows the log`).toBeLessThan(all);

      const control = page.getByTestId(`filter-${c.name}`);
      if (c.kind === 'select') await control.selectOption(c.value);
      else {
        await control.fill(c.value);
        await control.press('Enter');
      }
      await page.waitForURL((u) => u.searchParams.get(c.name) === c.value);
      let rows = await expectListMatchesApi(page, w, filter);
      expect(rows.every(c.check), `every row shown satisfies ${c.name}=${c.value}`).toBe(true);
      if (c.name === 'agent') {
        const names = new Set((await apiEntries(w, filter)).map((e) => e.agentName));
        expect([...names]).toEqual(['support-triage']);
      }

      await page.reload();
      expect(param(c.name)).toBe(c.value);
      await expect.poll(() => control.inputValue()).toBe(c.value);
      rows = await expectListMatchesApi(page, w, filter);
      expect(rows.every(c.check)).toBe(true);

      await page.getByTestId('filter-clear').click();
      await page.waitForURL((u) => !u.searchParams.has(c.name));
      await expectListMatchesApi(page, w, {});
    }

    // Filters combine, and an invalid one is named under its field instead of querying.
    await page.goto(url(`/audit?result=DENY&service=github&from=${day(10)}`));
    const combined = await expectListMatchesApi(page, w, { result: 'DENY', service: 'github', from: day(10) });
    expect(combined.every((r) => r.decision === 'DENY' && r.service === 'github')).toBe(true);
    await page.goto(url('/audit?from=yesterday'));
    await page.getByTestId('filter-from-error').waitFor();
    await page.getByTestId('audit-invalid-filter').waitFor();
  });

  it('scopes the list to a member, and to a policy, with a click', async () => {
    const { page } = w;
    await page.goto(url('/audit?service=slack'));
    const rows = await expectListMatchesApi(page, w, { service: 'slack' });
    const first = page.locator(`[data-testid="audit-row"][data-entry-id="${rows[0].id}"]`);
    const memberName = await first.getByTestId('audit-member-link').textContent();
    const memberId = (await apiEntries(w, { service: 'slack' }, 1))[0].memberId!;
    await first.getByTestId('audit-member-link').click();
    await page.waitForURL((u) => u.searchParams.get('member') === memberId);
    expect(param('service')).toBe('slack');
    await page.getByTestId('audit-scope-member').waitFor();
    const scoped = await expectListMatchesApi(page, w, { service: 'slack', member: memberId });
    expect(scoped.every((r) => r.member === memberName)).toBe(true);
    expect(await apiTotal(w, { service: 'slack', member: memberId })).toBeLessThan(await apiTotal(w, { service: 'slack' }));

    // Back returns to the unscoped list (the scope was pushed to history).
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has('member'));
    await expectListMatchesApi(page, w, { service: 'slack' });

    const policyLink = page.getByTestId('audit-policy-link').first();
    const policyId = (await policyLink.getAttribute('data-policy-id'))!;
    await policyLink.click();
    await page.waitForURL((u) => u.searchParams.get('policy') === policyId);
    await page.getByTestId('audit-scope-policy').waitFor();
    const byPolicy = await expectListMatchesApi(page, w, { service: 'slack', policy: policyId });
    const entries = await apiEntries(w, { service: 'slack', policy: policyId });
    expect(entries.every((e) => e.matchedPolicies.some((p) => p.id === policyId))).toBe(true);
    expect(byPolicy.length).toBeGreaterThan(0);

    await page.getByTestId('audit-scope-policy-clear').click();
    await page.waitForURL((u) => !u.searchParams.has('policy'));
    await expectListMatchesApi(page, w, { service: 'slack' });
  });

  /** The REST export for a filter, every page, as one would script it (following X-Next-Offset). */
  async function apiExport(query: string): Promise<{ pages: string[]; records: string[][] }> {
    const pages: string[] = [];
    let offset: string | null = null;
    for (;;) {
      const params = new URLSearchParams(query);
      if (offset) params.set('offset', offset);
      const r = await w.apiGet(`/api/audit/export${params.size ? `?${params}` : ''}`);
      expect(r.status).toBe(200);
      pages.push(await r.text());
      offset = r.headers.get('x-next-offset');
      if (!offset) break;
    }
    const records = pages.flatMap((text, i) => (parse(text, { relax_column_count: false }) as string[][]).slice(i === 0 ? 0 : 1));
    return { pages, records };
  }

  async function exportFromConsole(): Promise<string> {
    const { page } = w;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
    await page.getByTestId('audit-export-status').waitFor();
    expect(await page.getByTestId('audit-export-status').getAttribute('data-state')).toBe('done');
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    return readFileSync((await download.path())!, 'utf8');
  }

  it('exports a CSV equal to the REST export for the same filter', async () => {
    const { page } = w;
    // One page: byte for byte.
    await page.goto(url('/audit?result=DENY&service=github'));
    await expectListMatchesApi(page, w, { result: 'DENY', service: 'github' });
    const small = await exportFromConsole();
    const api = await apiExport('result=DENY&service=github');
    expect(api.pages.length).toBe(1);
    expect(small).toBe(api.pages[0]);
    expect(parse(small).length - 1).toBe(await apiTotal(w, { result: 'DENY', service: 'github' }));

    // Many pages (500 rows each): the same records, one header.
    await page.goto(url('/audit?result=ALLOW'));
    await expectListMatchesApi(page, w, { result: 'ALLOW' });
    const large = await exportFromConsole();
    const apiLarge = await apiExport('result=ALLOW');
    expect(apiLarge.pages.length).toBeGreaterThan(1);
    const records = parse(large) as string[][];
    expect(records.length - 1).toBe(await apiTotal(w, { result: 'ALLOW' }));
    expect(records).toEqual(apiLarge.records);
    expect(await page.getByTestId('audit-export-status').textContent()).toContain(`Exported ${(records.length - 1).toLocaleString('en-US')} rows`);
  });
});
