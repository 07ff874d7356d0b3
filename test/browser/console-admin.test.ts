// The console's write side in a real browser, checked where it matters: at the proxy. The emergency
// stop turns a member's call into a 403 and back, a policy toggle changes Simulate's decision and the
// proxy's alike, and approving a pending member lets their next call through.
//
// One world for the file (server on PGlite with the demo installation and its upstream MCP servers,
// `next start`, Debian's Chromium); the steps run in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoRefs, pick, type DemoRefs } from './console-helpers.ts';
import { chromiumAvailable, CHROMIUM, startConsoleWorld, type ConsoleWorld, type McpAnswer } from './harness.ts';

// Without Chromium a developer's machine skips (and says why); CI, which installs it, fails instead.
const skip = !chromiumAvailable() && !process.env.CI;
if (skip) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (CI installs it; apt-get install chromium)`);

/** A forwarded call: HTTP 200 with a JSON-RPC result (the demo upstream's answer). */
function expectForwarded(answer: McpAnswer) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.error, JSON.stringify(answer.body)).toBeUndefined();
  expect(answer.body.result).toBeDefined();
}

/** A call decided DENY by policy: HTTP 200 with a JSON-RPC error carrying the decision. */
function expectDenied(answer: McpAnswer) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.error?.data?.decision, JSON.stringify(answer.body)).toBe('DENY');
}

describe.skipIf(skip)('console: agents, emergency stop, policies, simulate and members', { timeout: 90_000 }, () => {
  let w: ConsoleWorld;
  let demo: DemoRefs;

  beforeAll(async () => {
    w = await startConsoleWorld();
    demo = await demoRefs(w);
    await w.signIn('/agents');
  }, 300_000);
  afterAll(async () => {
    await w?.close();
  });

  const url = (path: string) => `${w.consoleUrl}${path}`;
  const agentRow = (agentId: string) => w.page.locator(`[data-testid="agent-row"][data-agent-id="${agentId}"]`);

  it('lists the agents, filtered by name and status in the URL', async () => {
    const { page } = w;
    await page.goto(url('/agents'));
    await page.getByTestId('agents-table').waitFor();
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(Object.keys(demo.agents).length);
    await w.screenshot('agents');

    await page.getByTestId('agents-status-filter').selectOption('disabled');
    await page.waitForURL((u) => u.searchParams.get('status') === 'disabled');
    const disabled = Object.entries(demo.agents).filter(([, a]) => a.status === 'disabled');
    await expect.poll(() => page.getByTestId('agent-row').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.agentId))).toEqual(disabled.map(([, a]) => a.id));

    await page.getByTestId('agents-status-filter').selectOption('');
    await page.getByTestId('agents-search').fill('bill');
    await page.waitForURL((u) => u.searchParams.get('search') === 'bill' && !u.searchParams.has('status'));
    await page.reload();
    expect(await page.getByTestId('agents-search').inputValue()).toBe('bill');
    await expect.poll(() => page.getByTestId('agent-link').allTextContents()).toEqual(['billing-bot']);
  });

  it('emergency stop: disabling an agent (after confirming) turns its calls into 403, re-enabling lets them through', async () => {
    const { page } = w;
    const agent = pick(demo.agents, 'docs-writer');
    const member = pick(demo.members, 'docs-writer:Mei Chen');
    const key = await w.memberKey(agent.id, member.id);
    // docs-writer may read its docs repositories ("Docs repos only").
    const read = () => w.mcpCall(key, 'github__get_file_contents', { owner: 'acme', repo: 'docs-site', path: 'README.md' });
    expectForwarded(await read());

    await page.goto(url('/agents'));
    const toggle = agentRow(agent.id).getByTestId('agent-status-toggle');
    await toggle.waitFor();
    expect(await toggle.getAttribute('data-status')).toBe('active');

    // Cancel changes nothing.
    await toggle.click();
    await page.getByTestId('agent-status-dialog').waitFor();
    expect(await page.getByTestId('agent-status-dialog-message').textContent()).toContain('403');
    await page.getByTestId('agent-status-dialog-cancel').click();
    await page.getByTestId('agent-status-dialog').waitFor({ state: 'detached' });
    expectForwarded(await read());

    await toggle.click();
    await page.getByTestId('agent-status-dialog-confirm').click();
    await page.getByTestId('agent-status-dialog').waitFor({ state: 'detached' });
    await expect.poll(() => agentRow(agent.id).getAttribute('data-status')).toBe('disabled');
    expect(await toggle.getAttribute('data-status')).toBe('disabled');
    const stopped = await read();
    expect(stopped.status).toBe(403);
    expect(stopped.body.error?.data?.decision).toBe('DENY');
    expect((await w.database.db.selectFrom('agents').select('status').where('id', '=', agent.id).executeTakeFirstOrThrow()).status).toBe('disabled');

    // The agent's own page says so too.
    await agentRow(agent.id).getByTestId('agent-link').click();
    await page.getByTestId('agent-disabled-notice').waitFor();

    await page.getByTestId('agent-status-toggle').click();
    await page.getByTestId('agent-status-dialog-confirm').click();
    await page.getByTestId('agent-disabled-notice').waitFor({ state: 'detached' });
    await expect.poll(() => page.getByTestId('agent-status-toggle').getAttribute('data-status')).toBe('active');
    expectForwarded(await read());
  });

  it('a policy toggle changes what Simulate and the proxy decide', async () => {
    const { page } = w;
    const agent = pick(demo.agents, 'billing-bot');
    const policy = pick(demo.policies, 'billing-bot:Allow read tools');
    const priya = pick(demo.members, 'billing-bot:Priya Raman');
    const key = await w.memberKey(agent.id, priya.id);
    expect(policy.enabled).toBe(true);

    const simulate = async (expected: 'ALLOW' | 'DENY') => {
      await page.getByTestId('simulate-panel').waitFor();
      await page.getByTestId('simulate-member').selectOption(priya.id);
      await page.getByTestId('simulate-service').selectOption('github');
      await page.getByTestId('simulate-tool').selectOption('list_repositories');
      // The saved policies as they are now (not the form's draft): what the toggle changed.
      await page.getByTestId('simulate-use-draft').setChecked(false);
      await page.getByTestId('simulate-run').click();
      const result = page.getByTestId('simulate-result');
      await result.waitFor();
      await expect.poll(() => result.getAttribute('data-decision')).toBe(expected);
      return result;
    };

    // Off, from the agent's policy list.
    await page.goto(url(`/agents/${agent.id}/policies`));
    const row = page.locator(`[data-testid="policy-row"][data-policy-id="${policy.id}"]`);
    // The switch (a controlled checkbox under its track) flips once the server has answered.
    await row.locator('label.switch').click();
    await expect.poll(() => row.getAttribute('data-enabled')).toBe('false');
    expect((await w.database.db.selectFrom('policies').select('enabled').where('id', '=', policy.id).executeTakeFirstOrThrow()).enabled).toBe(false);

    await row.getByTestId('policy-link').click();
    await page.waitForURL((u) => u.pathname === `/policies/${policy.id}`);
    let result = await simulate('DENY');
    expect(await result.getByTestId('simulate-deciding-policy').count()).toBe(0);
    expectDenied(await w.mcpCall(key, 'github__list_repositories'));

    // On again, from the policy's own page.
    const toggle = page.getByTestId('policy-enabled-toggle');
    expect(await toggle.isChecked()).toBe(false);
    await page.locator('label.switch').click();
    await expect.poll(() => toggle.isChecked()).toBe(true);
    await expect
      .poll(async () => (await w.database.db.selectFrom('policies').select('enabled').where('id', '=', policy.id).executeTakeFirstOrThrow()).enabled)
      .toBe(true);
    result = await simulate('ALLOW');
    const deciding = result.getByTestId('simulate-deciding-policy');
    expect(await deciding.textContent()).toBe(`Allow read tools v${policy.version}`);
    expect(await deciding.getAttribute('href')).toBe(`/policies/${policy.id}?version=${policy.version}`);
    expect(await result.getByTestId('simulate-cedar').textContent()).toContain('permit');
    expectForwarded(await w.mcpCall(key, 'github__list_repositories'));

    // A forbid wins over the permit: Simulate names it, with its deny message, and the proxy agrees.
    await page.getByTestId('simulate-tool').selectOption('delete_file');
    await page.getByTestId('simulate-args').fill('{"repo": "billing-service", "path": "README.md"}');
    await page.getByTestId('simulate-run').click();
    await expect.poll(() => result.getAttribute('data-decision')).toBe('DENY');
    const forbid = pick(demo.policies, 'billing-bot:Block destructive GitHub ops');
    await expect.poll(() => result.getByTestId('simulate-deciding-policy').textContent()).toBe(`Block destructive GitHub ops v${forbid.version}`);
    expect(await result.getByTestId('simulate-reason').textContent()).toContain('#platform-ops');
    const denied = await w.mcpCall(key, 'github__delete_file', { repo: 'billing-service', path: 'README.md', message: 'x' });
    expectDenied(denied);
    expect(denied.body.error.data.reason).toBe(await result.getByTestId('simulate-reason').textContent());
    // The form and its result in view, the sticky top bar aside.
    await page.getByTestId('simulate-panel').evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 64));
    await w.screenshot('simulate');
  });

  it('shows a policy with its Cedar and its versions', async () => {
    const { page } = w;
    const policy = pick(demo.policies, 'billing-bot:Block destructive GitHub ops');
    await page.goto(url(`/policies/${policy.id}?version=${policy.version}`));
    await page.getByTestId('policy-page').waitFor();
    expect(await page.getByTestId('policy-title').textContent()).toBe('Block destructive GitHub ops');
    expect(await page.getByTestId('policy-page').getAttribute('data-version')).toBe(String(policy.version));
    const cedar = (await page.getByTestId('cedar-preview').textContent()) ?? '';
    expect(cedar).toContain('forbid');
    expect(cedar).toContain('delete_file');
    expect(await page.getByTestId('version-row').count()).toBe(policy.version);
    const diff = page.getByTestId('version-diff');
    await diff.waitFor();
    expect(await diff.locator('[data-kind="add"]').count()).toBeGreaterThan(0);
    await w.screenshot('policy');
  });

  it('approving a pending member lets their next call through', async () => {
    const { page } = w;
    const agent = pick(demo.agents, 'billing-bot');
    const mei = pick(demo.members, 'billing-bot:Mei Chen');
    expect(mei.status).toBe('pending');
    const key = await w.memberKey(agent.id, mei.id);
    const refused = await w.mcpCall(key, 'github__list_repositories');
    expect(refused.status).toBe(403);

    await page.goto(url(`/agents/${agent.id}/members`));
    await page.getByTestId('members-pending-notice').waitFor();
    const row = page.locator(`[data-testid="member-row"][data-member-id="${mei.id}"]`);
    expect(await row.getAttribute('data-status')).toBe('pending');
    await row.getByTestId('member-approve').click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('approved');
    await page.getByTestId('members-pending-notice').waitFor({ state: 'detached' });
    expectForwarded(await w.mcpCall(key, 'github__list_repositories'));

    // A new key from the console: shown once, works at once, and the old one stops working.
    await row.getByTestId('member-rotate-key').click();
    await page.getByTestId('member-dialog-confirm').click();
    const dialog = page.getByTestId('key-dialog');
    await dialog.waitFor();
    const newKey = ((await dialog.getByTestId('member-key-value').textContent()) ?? '').trim();
    expect(newKey).toMatch(/^wk_/);
    expect(await dialog.getByTestId('mcp-config-snippet').textContent()).toContain(`${w.apiUrl}/mcp`);
    await w.screenshot('members');
    expectForwarded(await w.mcpCall(newKey, 'github__list_repositories'));
    expect((await w.mcpCall(key, 'github__list_repositories')).status).toBe(401);
    await dialog.getByTestId('key-dialog-close').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row.getByTestId('member-key').textContent()).toContain(newKey.slice(-4));
  });
});
