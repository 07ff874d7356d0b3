'use client';

import { useState } from 'react';
import { useClient } from 'urql';
import { graphql, type ResultOf } from '@/graphql';
import { toUtcIso } from '@/lib/dates';
import { asTypedError, describeError, fieldErrorsFrom, type FieldErrors } from '@/lib/errors';
import { formatNumber, formatTimestamp } from '@/lib/format';
import { DecisionBadge } from '@/components/ui/badges';
import { EmptyState } from '@/components/ui/empty-state';
import { FieldError } from '@/components/ui/error-panel';
import type { PolicyInputValue } from './policy-draft';

const ReplayPanel_Replay = graphql(`
  query ReplayPanel_Replay($input: ReplayInput!) {
    replay(input: $input) {
      __typename
      ... on ReplayResult {
        from
        to
        total
        beforeAllowed
        beforeDenied
        afterAllowed
        afterDenied
        changed
        unmatched
        truncated
        changes {
          recordedDecision
          baselineDecision
          draftDecision
          entry {
            id
            timestamp
            memberName
            service
            tool
            reason
          }
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

type Replay = Extract<ResultOf<typeof ReplayPanel_Replay>['replay'], { __typename: 'ReplayResult' }>;

/** Replays the draft against recorded traffic (default: the last 24 hours) to see what it would change. */
export function ReplayPanel({
  agentId,
  draftInput,
  replacesPolicyId,
}: {
  agentId: string;
  draftInput: PolicyInputValue | null;
  replacesPolicyId?: string;
}) {
  const client = useClient();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Replay | null>(null);

  const run = async () => {
    const next: FieldErrors = {};
    const isoFrom = toUtcIso(from);
    const isoTo = toUtcIso(to);
    if (isoFrom === undefined) next.from = 'Use an ISO date or date-time (UTC unless an offset is given).';
    if (isoTo === undefined) next.to = 'Use an ISO date or date-time (UTC unless an offset is given).';
    if (!draftInput) next._form = 'The policy form has errors; fix them to replay the draft.';
    setErrors(next);
    if (Object.keys(next).length || !draftInput) return;

    setRunning(true);
    setResult(null);
    const response = await client
      .query(
        ReplayPanel_Replay,
        { input: { agentId, draft: draftInput, replacesPolicyId: replacesPolicyId ?? null, from: isoFrom ?? null, to: isoTo ?? null } },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    setRunning(false);
    if (response.error) {
      setErrors({ _form: describeError(response.error) });
      return;
    }
    const payload = response.data?.replay;
    const typed = asTypedError(payload);
    if (typed) {
      setErrors(fieldErrorsFrom(typed, ['from', 'to']));
      return;
    }
    if (payload?.__typename === 'ReplayResult') setResult(payload);
  };

  return (
    <section className="card" data-testid="replay-panel">
      <h2 className="card-title">Replay recorded traffic</h2>
      <p className="muted small">
        Decides the agent&rsquo;s recorded calls again with the draft in place of the saved policy, and shows which decisions would
        change. Empty dates mean the last 24 hours.
      </p>
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          void run();
        }}
      >
        <div className="field">
          <label htmlFor="replay-from">From</label>
          <input id="replay-from" name="from" value={from} placeholder="24 hours ago" onChange={(e) => setFrom(e.target.value)} data-testid="replay-from" />
          <FieldError message={errors.from} testId="replay-error-from" />
        </div>
        <div className="field">
          <label htmlFor="replay-to">To</label>
          <input id="replay-to" name="to" value={to} placeholder="now" onChange={(e) => setTo(e.target.value)} data-testid="replay-to" />
          <FieldError message={errors.to} testId="replay-error-to" />
        </div>
        <button type="submit" className="btn btn-primary" disabled={running} data-testid="replay-run">
          {running ? 'Replaying…' : 'Replay with the draft'}
        </button>
      </form>
      <FieldError message={errors._form} testId="replay-error" />

      {result ? (
        <div className="stack" data-testid="replay-result">
          <p className="muted small">
            {formatNumber(result.total)} recorded calls from {formatTimestamp(result.from)} to {formatTimestamp(result.to)}.
          </p>
          {result.truncated ? (
            <p className="notice notice-warn" data-testid="replay-truncated">
              The window held more calls than a replay covers; only the newest were replayed. Narrow the window for a full count.
            </p>
          ) : null}
          <div className="stat-grid">
            <div className="card stat">
              <span className="stat-label">Before</span>
              <span className="stat-value" data-testid="replay-before">
                <span className="text-allow">{formatNumber(result.beforeAllowed)}</span> / <span className="text-deny">{formatNumber(result.beforeDenied)}</span>
              </span>
              <span className="muted small">allowed / denied, as recorded</span>
            </div>
            <div className="card stat">
              <span className="stat-label">After</span>
              <span className="stat-value" data-testid="replay-after">
                <span className="text-allow">{formatNumber(result.afterAllowed)}</span> / <span className="text-deny">{formatNumber(result.afterDenied)}</span>
              </span>
              <span className="muted small">allowed / denied, with the draft</span>
            </div>
            <div className="card stat">
              <span className="stat-label">Changed</span>
              <span className="stat-value" data-testid="replay-changed">
                {formatNumber(result.changed)}
              </span>
            </div>
            <div className="card stat">
              <span className="stat-label">Unmatched</span>
              <span className="stat-value" data-testid="replay-unmatched">
                {formatNumber(result.unmatched)}
              </span>
              <span className="muted small">entries lacking what the draft needs</span>
            </div>
          </div>
          {result.changes.length < result.changed ? (
            <p className="muted small">Showing the newest {formatNumber(result.changes.length)} of {formatNumber(result.changed)} changed calls.</p>
          ) : null}
          {result.changes.length ? (
            <table className="table" data-testid="replay-changes">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Member</th>
                  <th>Tool</th>
                  <th>Recorded</th>
                  <th>Without the draft</th>
                  <th>With the draft</th>
                </tr>
              </thead>
              <tbody>
                {result.changes.map((change) => (
                  <tr key={change.entry.id} data-testid="replay-change-row" data-entry-id={change.entry.id}>
                    <td>{formatTimestamp(change.entry.timestamp)}</td>
                    <td>{change.entry.memberName}</td>
                    <td className="mono">
                      {change.entry.service}__{change.entry.tool}
                    </td>
                    <td>
                      <DecisionBadge decision={change.recordedDecision} testId="replay-recorded" />
                    </td>
                    <td>
                      <DecisionBadge decision={change.baselineDecision} testId="replay-baseline" />
                    </td>
                    <td>
                      <DecisionBadge decision={change.draftDecision} testId="replay-draft" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <EmptyState title="No decision would change" testId="replay-no-changes">
              <p>The draft decides every recorded call in this window the same way.</p>
            </EmptyState>
          )}
        </div>
      ) : null}
    </section>
  );
}
