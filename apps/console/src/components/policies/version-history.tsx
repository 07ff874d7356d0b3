'use client';

import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '@/graphql';
import { asTypedError, describeError } from '@/lib/errors';
import { formatTimestamp } from '@/lib/format';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { EffectBadge } from '@/components/ui/badges';
import { contentJson, draftFromContent, type PolicyContent } from './policy-draft';
import { TextDiff } from './text-diff';

const VersionHistory_Rollback = graphql(`
  mutation VersionHistory_Rollback($id: ID!, $version: Int!) {
    rollbackPolicy(id: $id, version: $version) {
      __typename
      ... on PolicyPayload {
        policy {
          id
          version
          updatedAt
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export interface VersionEntry extends PolicyContent {
  version: number;
  cedar: string;
  createdAt: string;
  createdBy?: string | null;
}

/**
 * Every saved version, newest first. The selected version (`?version=N`, e.g. from an audit entry)
 * shows what changed from the version before it, as Cedar or as content JSON; any older version can
 * be rolled back to, which saves its content as a new version.
 */
export function VersionHistory({
  policyId,
  service,
  currentVersion,
  versions,
  selected,
  onSelect,
  canEdit,
}: {
  policyId: string;
  service: string;
  currentVersion: number;
  versions: readonly VersionEntry[];
  selected: number | null;
  onSelect: (version: number | null) => void;
  canEdit: boolean;
}) {
  const [mode, setMode] = useState<'cedar' | 'content'>('cedar');
  const [rollbackTo, setRollbackTo] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [state, rollback] = useMutation(VersionHistory_Rollback);
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  const text = (v: VersionEntry | undefined) => (!v ? '' : mode === 'cedar' ? v.cedar : contentJson(draftFromContent(v, service)));

  const confirm = async () => {
    if (rollbackTo === null) return;
    setError(null);
    const result = await rollback({ id: policyId, version: rollbackTo });
    const typed = asTypedError(result.data?.rollbackPolicy);
    if (result.error) setError(describeError(result.error));
    else if (typed) setError(typed.message);
    else {
      setRollbackTo(null);
      onSelect(null);
    }
  };

  return (
    <section className="card" data-testid="version-history">
      <div className="card-title-row">
        <h2 className="card-title">Versions</h2>
        <div className="segmented segmented-sm" role="radiogroup" aria-label="Compare as">
          <button type="button" role="radio" aria-checked={mode === 'cedar'} className={mode === 'cedar' ? 'active' : undefined} onClick={() => setMode('cedar')} data-testid="diff-mode-cedar">
            Cedar
          </button>
          <button type="button" role="radio" aria-checked={mode === 'content'} className={mode === 'content' ? 'active' : undefined} onClick={() => setMode('content')} data-testid="diff-mode-content">
            Content
          </button>
        </div>
      </div>
      <ol className="version-list">
        {sorted.map((v) => {
          const isSelected = v.version === selected;
          const previous = versions.find((p) => p.version === v.version - 1);
          return (
            <li key={v.version} className={isSelected ? 'version selected' : 'version'} data-testid="version-row" data-version={v.version} data-selected={isSelected || undefined}>
              <div className="version-head">
                <button
                  type="button"
                  className="link-button"
                  aria-expanded={isSelected}
                  onClick={() => onSelect(isSelected ? null : v.version)}
                  data-testid="version-select"
                >
                  v{v.version}
                </button>
                {v.version === currentVersion ? <span className="badge badge-allow">current</span> : null}
                <EffectBadge effect={v.effect} />
                <span className="muted small">
                  {formatTimestamp(v.createdAt)}
                  {v.createdBy ? ` by ${v.createdBy}` : ''}
                </span>
                <span className="spacer" />
                {canEdit && v.version !== currentVersion ? (
                  <button type="button" className="btn btn-sm" onClick={() => setRollbackTo(v.version)} data-testid="version-rollback">
                    Roll back to v{v.version}
                  </button>
                ) : null}
              </div>
              {isSelected ? (
                <div className="version-body">
                  <p className="muted small">{previous ? `Changes from v${previous.version} to v${v.version}:` : 'First version:'}</p>
                  <TextDiff before={text(previous)} after={text(v)} />
                </div>
              ) : null}
            </li>
          );
        })}
      </ol>
      <ConfirmDialog
        open={rollbackTo !== null}
        title={`Roll back to v${rollbackTo ?? ''}?`}
        confirmLabel="Roll back"
        busy={state.fetching}
        error={error}
        onConfirm={confirm}
        onCancel={() => {
          setRollbackTo(null);
          setError(null);
        }}
        testId="rollback-dialog"
      >
        <p>
          The content of v{rollbackTo} is saved as a new version (v{currentVersion + 1}) and applies from the next call. Version
          history is kept.
        </p>
      </ConfirmDialog>
    </section>
  );
}
