'use client';

import Link from 'next/link';
import { useState } from 'react';
import { useClient } from 'urql';
import { graphql, type ResultOf } from '@/graphql';
import { toUtcIso } from '@/lib/dates';
import { asTypedError, describeError, fieldErrorsFrom, type FieldErrors } from '@/lib/errors';
import { DecisionBadge, EffectBadge } from '@/components/ui/badges';
import { FieldError } from '@/components/ui/error-panel';
import type { ConnectorOption, MemberOption } from './policy-form';
import { POLICY_FIELDS, type PolicyInputValue } from './policy-draft';
import { CedarPreview } from './cedar-preview';

const SimulatePanel_Simulate = graphql(`
  query SimulatePanel_Simulate($input: SimulateCallInput!) {
    simulate(input: $input) {
      __typename
      ... on SimulationResult {
        decision
        reason
        rule
        action
        principal
        resource
        time
        cedar
        decidingPolicy {
          id
          key
          name
          version
          effect
        }
        matchedPolicies {
          id
          key
          name
          version
          effect
        }
        draftPolicy {
          id
          name
          version
          effect
        }
      }
      ... on Error {
        message
        code
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

type Simulation = Extract<ResultOf<typeof SimulatePanel_Simulate>['simulate'], { __typename: 'SimulationResult' }>;
const SIMULATE_FIELDS = ['memberId', 'service', 'tool', 'arguments', 'time', 'callerIp', 'draft'] as const;

/** "What would happen if…": the real engine, no call made, nothing written to the audit log. */
export function SimulatePanel({
  agentId,
  services,
  connectors,
  members,
  defaultService,
  draftInput,
  replacesPolicyId,
  onDraftErrors,
}: {
  agentId: string;
  services: readonly string[];
  connectors: readonly ConnectorOption[];
  members: readonly MemberOption[];
  defaultService: string;
  /** The form's draft as PolicyInput, or null when the form has errors. */
  draftInput: PolicyInputValue | null;
  replacesPolicyId?: string;
  onDraftErrors: (errors: FieldErrors) => void;
}) {
  const client = useClient();
  const [memberId, setMemberId] = useState(members.find((m) => m.status === 'approved')?.id ?? '');
  const [service, setService] = useState(defaultService);
  const [tool, setTool] = useState('');
  const [args, setArgs] = useState('{}');
  const [time, setTime] = useState('');
  const [callerIp, setCallerIp] = useState('');
  const [useDraft, setUseDraft] = useState(true);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Simulation | null>(null);

  const serviceOptions = Array.from(new Set([defaultService, ...services].filter(Boolean)));
  const effectiveService = service || defaultService;
  const tools = connectors.find((c) => c.service === effectiveService)?.tools ?? [];

  const run = async () => {
    const next: FieldErrors = {};
    let parsedArgs: unknown = {};
    try {
      parsedArgs = args.trim() ? JSON.parse(args) : {};
      if (typeof parsedArgs !== 'object' || parsedArgs === null || Array.isArray(parsedArgs)) next.arguments = 'Arguments must be a JSON object, e.g. {"path": "README.md"}.';
    } catch (error) {
      next.arguments = `Not valid JSON: ${(error as Error).message}`;
    }
    const isoTime = toUtcIso(time);
    if (isoTime === undefined) next.time = 'Use an ISO date-time, e.g. 2026-05-01T22:30 (UTC unless an offset is given).';
    if (!effectiveService) next.service = 'Pick a service.';
    if (!tool) next.tool = 'Pick a tool.';
    if (useDraft && !draftInput) next.draft = 'The policy form has errors; fix them or simulate without the draft.';
    setErrors(next);
    if (Object.keys(next).length) return;

    setRunning(true);
    setResult(null);
    const response = await client
      .query(
        SimulatePanel_Simulate,
        {
          input: {
            agentId,
            memberId: memberId || null,
            service: effectiveService,
            tool,
            arguments: parsedArgs,
            time: isoTime ?? null,
            callerIp: callerIp.trim() || null,
            draft: useDraft ? draftInput : null,
            replacesPolicyId: useDraft ? (replacesPolicyId ?? null) : null,
          },
        },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    setRunning(false);
    if (response.error) {
      setErrors({ _form: describeError(response.error) });
      return;
    }
    const payload = response.data?.simulate;
    const typed = asTypedError(payload);
    if (typed) {
      const field = (typed.field ?? '').replace(/^input\./, '');
      if (field.startsWith('draft.')) {
        onDraftErrors(fieldErrorsFrom({ ...typed, field: field.slice('draft.'.length) }, POLICY_FIELDS));
        setErrors({ draft: `The draft policy is invalid: ${typed.message}` });
      } else setErrors(fieldErrorsFrom({ ...typed, field }, SIMULATE_FIELDS));
      return;
    }
    if (payload?.__typename === 'SimulationResult') setResult(payload);
  };

  return (
    <section className="card" data-testid="simulate-panel">
      <h2 className="card-title">Simulate a call</h2>
      <p className="muted small">Runs the real decision engine. No tool is called and nothing is written to the audit log.</p>
      <form
        className="simulate-form"
        onSubmit={(event) => {
          event.preventDefault();
          void run();
        }}
      >
        <div className="field">
          <label htmlFor="simulate-member">Member</label>
          <select id="simulate-member" name="memberId" value={memberId} onChange={(e) => setMemberId(e.target.value)} data-testid="simulate-member">
            <option value="">No particular member</option>
            {members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.displayName || m.email}
                {m.status !== 'approved' ? ` (${m.status})` : ''}
              </option>
            ))}
          </select>
          <FieldError message={errors.memberId} testId="simulate-error-member" />
        </div>
        <div className="field">
          <label htmlFor="simulate-service">Service</label>
          <select
            id="simulate-service"
            name="service"
            value={effectiveService}
            onChange={(e) => {
              setService(e.target.value);
              setTool('');
            }}
            data-testid="simulate-service"
          >
            {serviceOptions.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <FieldError message={errors.service} testId="simulate-error-service" />
        </div>
        <div className="field">
          <label htmlFor="simulate-tool">Tool</label>
          <select id="simulate-tool" name="tool" value={tool} onChange={(e) => setTool(e.target.value)} data-testid="simulate-tool">
            <option value="">Choose a tool</option>
            {tools.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({t.tier})
              </option>
            ))}
          </select>
          <FieldError message={errors.tool} testId="simulate-error-tool" />
        </div>
        <div className="field field-wide">
          <label htmlFor="simulate-args">Arguments (JSON)</label>
          <textarea id="simulate-args" name="arguments" className="mono" rows={4} value={args} onChange={(e) => setArgs(e.target.value)} spellCheck={false} data-testid="simulate-args" />
          <FieldError message={errors.arguments} testId="simulate-error-args" />
        </div>
        <div className="field">
          <label htmlFor="simulate-time">Time</label>
          <input id="simulate-time" name="time" value={time} placeholder="now, or 2026-05-01T22:30" onChange={(e) => setTime(e.target.value)} data-testid="simulate-time" />
          <FieldError message={errors.time} testId="simulate-error-time" />
        </div>
        <div className="field">
          <label htmlFor="simulate-caller-ip">Caller IP</label>
          <input id="simulate-caller-ip" name="callerIp" value={callerIp} placeholder="e.g. 10.0.0.7" onChange={(e) => setCallerIp(e.target.value)} data-testid="simulate-caller-ip" />
          <FieldError message={errors.callerIp} testId="simulate-error-caller-ip" />
        </div>
        <div className="field field-wide">
          <label className="checkbox">
            <input type="checkbox" checked={useDraft} onChange={(e) => setUseDraft(e.target.checked)} data-testid="simulate-use-draft" />
            With the policy as it is in the form (unsaved changes included)
          </label>
          <FieldError message={errors.draft} testId="simulate-error-draft" />
        </div>
        <div className="field field-wide">
          <FieldError message={errors._form} testId="simulate-error" />
          <button type="submit" className="btn btn-primary" disabled={running} data-testid="simulate-run">
            {running ? 'Simulating…' : 'Simulate'}
          </button>
        </div>
      </form>

      {result ? (
        <div className="simulate-result" data-testid="simulate-result" data-decision={result.decision}>
          <p className="simulate-decision">
            <DecisionBadge decision={result.decision} testId="simulate-decision" />
            <span data-testid="simulate-reason">{result.reason}</span>
          </p>
          <p className="muted small" data-testid="simulate-rule" data-rule={result.rule}>
            Rule: <span className="mono">{result.rule}</span> · <span className="mono">{result.action}</span> at {result.time}
            {result.draftPolicy ? ` · the draft took part as “${result.draftPolicy.name}”` : ''}
          </p>
          {result.decidingPolicy ? (
            <p className="small">
              Decided by{' '}
              <Link href={`/policies/${result.decidingPolicy.id}?version=${result.decidingPolicy.version}`} data-testid="simulate-deciding-policy">
                {result.decidingPolicy.name} v{result.decidingPolicy.version}
              </Link>
            </p>
          ) : null}
          <h3 className="subhead">Matched policies</h3>
          {result.matchedPolicies.length ? (
            <ul className="matched-list" data-testid="simulate-matched">
              {result.matchedPolicies.map((p) => (
                <li key={`${p.id}-${p.version}`}>
                  <EffectBadge effect={p.effect} /> {p.name} <span className="muted">v{p.version}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted small" data-testid="simulate-matched">
              None.
            </p>
          )}
          <CedarPreview cedar={result.cedar} title="Cedar used" testId="simulate-cedar" />
        </div>
      ) : null}
    </section>
  );
}
