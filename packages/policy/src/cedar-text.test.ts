import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyToCedar, PolicyCompileError } from './cedar-text.ts';
import type { PolicyContent } from './content.ts';

const base: PolicyContent = { name: 'Issues', service: 'github', effect: 'permit', tools: [], principal: { type: 'all_members' } };

function compile(content: Partial<PolicyContent>, namespace = 'GitHubMCP') {
  return compilePolicyToCedar({ id: 'p-1', key: 'issues', namespace, content: { ...base, ...content } });
}

function parses(text: string) {
  return cedar.checkParsePolicySet({ staticPolicies: { 'p-1': text } }).type === 'success';
}

function toJson(text: string) {
  const answer = cedar.policyToJson(text);
  if (answer.type !== 'success') throw new Error(answer.errors.map((e) => e.message).join('; '));
  return answer.json;
}

describe('compilePolicyToCedar', () => {
  it('writes a readable permit scoped to the service', () => {
    expect(compile({})).toBe(
      ['@id("p-1")', '@key("issues")', '@name("Issues")', 'permit (', '  principal,', '  action,', '  resource == GitHubMCP::Service::"github"', ');', ''].join('\n'),
    );
  });

  it('writes tools, members, window, IPs and conditions, and the text parses', () => {
    const text = compile({
      effect: 'forbid',
      tools: ['delete_file', 'push_files'],
      principal: { type: 'specific_members', memberIds: ['m1', 'm2'] },
      timeWindow: { daysOfWeek: [5, 1], hoursFrom: 9, hoursTo: 17, activeFrom: '2026-01-01', activeTo: '2026-06-30' },
      callerIps: ['10.0.0.0/8', '2001:db8::/32'],
      conditions: [{ key: 'path', op: 'startsWith', value: 'prod/' }, { key: 'branch', op: 'neq', value: 'main' }],
      denyMessage: 'Ask #ops first.',
    });
    expect(parses(text)).toBe(true);
    expect(text).toContain('@denyMessage("Ask #ops first.")');
    expect(text).toContain('forbid (\n  principal,\n  action in [GitHubMCP::Action::"delete_file", GitHubMCP::Action::"push_files"],');
    expect(text).toContain('when { principal in [GitHubMCP::Member::"m1", GitHubMCP::Member::"m2"] }');
    expect(text).toContain('!(context has localDay && context has localHour && context has localDate) ||');
    expect(text).toContain('[1, 5].contains(context.localDay)');
    expect(text).toContain('context.localHour >= 9 && context.localHour <= 17');
    expect(text).toContain('context.localDate >= 20260101');
    expect(text).toContain('context.localDate <= 20260630');
    expect(text).toContain('!(context has callerIp) ||');
    expect(text).toContain('ip(context.callerIp).isInRange(ip("2001:db8::/32"))');
    expect(text).toContain('when { !(context.args has "path") || (context.args["path"] like "prod/*") }');
    expect(text).toContain('when { !(context.args has "branch") || (context.args["branch"] != "main") }');
  });

  it('guards a permit the other way: unknown never matches', () => {
    const text = compile({ callerIps: ['10.0.0.0/8'], conditions: [{ key: 'repo', op: 'contains', value: 'web' }], timeWindow: { hoursFrom: 9 } });
    expect(parses(text)).toBe(true);
    expect(text).toContain('context has localHour &&\n  (context.localHour >= 9)');
    expect(text).toContain('context has callerIp &&');
    expect(text).toContain('when { context.args has "repo" && (context.args["repo"] like "*web*") }');
  });

  it('scopes a single member and a single tool with ==', () => {
    const text = compile({ tools: ['create_issue'], principal: { type: 'specific_members', memberIds: ['m1'] } });
    expect(text).toContain('  principal == GitHubMCP::Member::"m1",\n  action == GitHubMCP::Action::"create_issue",');
  });

  it('writes an overnight window as an either-or', () => {
    expect(compile({ timeWindow: { hoursFrom: 22, hoursTo: 6 } })).toContain('(context.localHour >= 22 || context.localHour <= 6)');
  });

  it('leaves the deny message out of a permit and keeps only forbid messages', () => {
    expect(compile({ effect: 'forbid', denyMessage: null })).not.toContain('@denyMessage');
  });

  it('throws on invalid content or namespace', () => {
    expect(() => compile({ timeWindow: { hoursFrom: 25 } })).toThrow(PolicyCompileError);
    expect(() => compile({}, 'not valid')).toThrow(/namespace/);
    expect(() => compile({}, 'Acme::if')).toThrow(PolicyCompileError);
    expect(parses(compile({}, 'Acme::GitHub_2'))).toBe(true);
  });

  it('no name, tool, member, argument or value can break out of its string literal', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const nonBlank = text.filter((s) => s.trim().length > 0 && s.trim().length <= 40);
    fc.assert(
      fc.property(nonBlank, nonBlank, nonBlank, nonBlank, text, nonBlank, (name, tool, member, key, value, denyMessage) => {
        const toolName = tool.replace(/[\s\p{Cc}]/gu, '_');
        const content: PolicyContent = {
          ...base,
          name,
          effect: 'forbid',
          tools: [toolName],
          principal: { type: 'specific_members', memberIds: [member.trim(), `${member.trim()}-2`] },
          conditions: [
            { key: key.trim(), op: 'startsWith', value },
            { key: key.trim(), op: 'eq', value },
          ],
          denyMessage: denyMessage.trim(),
        };
        const compiled = compilePolicyToCedar({ id: 'p-1', key: 'k', namespace: 'NS', content });
        const json = toJson(compiled);
        expect(json.annotations).toMatchObject({ name: name.trim(), denyMessage: denyMessage.trim() });
        expect(json.action).toEqual({ op: '==', entity: { type: 'NS::Action', id: toolName } });
        expect(json.conditions).toHaveLength(3);
        const eqClause = JSON.stringify(json.conditions[2]);
        expect(eqClause).toContain(JSON.stringify(value));
        const like = (json.conditions[1].body as { '||': { right: { like: { pattern: unknown[] } } } })['||'].right.like.pattern;
        const literal = like.slice(0, -1).map((p) => (p as { Literal: string }).Literal).join('');
        expect(literal).toBe(value);
        expect(like.at(-1)).toBe('Wildcard');
      }),
      { numRuns: 60 },
    );
  });
});
