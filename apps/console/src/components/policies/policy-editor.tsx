'use client';

import Link from 'next/link';
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '@/graphql';
import { auditHref } from '@/lib/audit-filter';
import { asTypedError, describeError, fieldErrorsFrom, type FieldErrors } from '@/lib/errors';
import { formatTimestamp } from '@/lib/format';
import { useUrlParams } from '@/lib/url-state';
import { EffectBadge } from '@/components/ui/badges';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel, FieldError } from '@/components/ui/error-panel';
import { CedarPreview } from './cedar-preview';
import { POLICY_FIELDS, contentJson, draftFromContent, toPolicyInput, validateDraft, type PolicyDraft } from './policy-draft';
import { PolicyEnabledToggle } from './policy-enabled-toggle';
import { PolicyForm } from './policy-form';
import { PolicySkeleton } from './policy-skeleton';
import { ReplayPanel } from './replay-panel';
import { SimulatePanel } from './simulate-panel';
import { VersionHistory } from './version-history';

const PolicyEditor_Policy = graphql(`
  query PolicyEditor_Policy($id: ID!) {
    policy(id: $id) {
      id
      agentId
      key
      name
      service
      effect
      tools
      principal {
        type
        memberIds
      }
      timeWindow {
        daysOfWeek
        hoursFrom
        hoursTo
        activeFrom
        activeTo
      }
      conditions {
        key
        op
        value
      }
      callerIps
      denyMessage
      enabled
      version
      cedar
      createdAt
      updatedAt
      versions {
        version
        name
        effect
        tools
        principal {
          type
          memberIds
        }
        timeWindow {
          daysOfWeek
          hoursFrom
          hoursTo
          activeFrom
          activeTo
        }
        conditions {
          key
          op
          value
        }
        callerIps
        denyMessage
        cedar
        createdAt
        createdBy
      }
    }
    connectors {
      service
      name
      tools {
        name
        description
        tier
      }
    }
  }
`);

const PolicyEditor_Agent = graphql(`
  query PolicyEditor_Agent($agentId: ID!) {
    agent(id: $agentId) {
      id
      name
      viewerRole
      timezone
      enabledServices
    }
    members(agentId: $agentId) {
      id
      displayName
      email
      status
    }
  }
`);

const PolicyEditor_Save = graphql(`
  mutation PolicyEditor_Save($id: ID!, $input: PolicyInput!) {
    savePolicy(id: $id, input: $input) {
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
      ... on ValidationError {
        field
      }
    }
  }
`);

type Policy = NonNullable<ResultOf<typeof PolicyEditor_Policy>['policy']>;
type Connectors = ResultOf<typeof PolicyEditor_Policy>['connectors'];
type AgentContext = ResultOf<typeof PolicyEditor_Agent>;

/** /policies/[id]: the structured form, its Cedar, its versions, and Simulate / Replay of the draft. */
export function PolicyEditor({ policyId }: { policyId: string }) {
  const { searchParams, setParams } = useUrlParams();
  const versionParam = Number.parseInt(searchParams.get('version') ?? '', 10);
  const selectedVersion = Number.isFinite(versionParam) ? versionParam : null;
  const [{ data, error }, refetch] = useQuery({ query: PolicyEditor_Policy, variables: { id: policyId } });
  const policy = data?.policy ?? null;
  const [context] = useQuery({ query: PolicyEditor_Agent, variables: { agentId: policy?.agentId ?? '' }, pause: !policy });
  const [savedVersion, setSavedVersion] = useState<number | null>(null);

  if (error && !data) return <ErrorPanel title="Could not load this policy" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!data) return <PolicySkeleton />;
  if (!policy) {
    return (
      <EmptyState title="Policy not found" testId="policy-not-found">
        <p>
          There is no policy with this id, or it belongs to an agent you cannot see. <Link href="/agents">Back to agents</Link>
        </p>
      </EmptyState>
    );
  }

  const agent = context.data?.agent ?? null;
  return (
    <div className="stack" data-testid="policy-page" data-policy-id={policy.id} data-version={policy.version}>
      <div className="page-header">
        <div>
          <p className="breadcrumb">
            <Link href="/agents">Agents</Link> / <Link href={`/agents/${policy.agentId}`}>{agent?.name ?? 'Agent'}</Link> /{' '}
            <Link href={`/agents/${policy.agentId}/policies`}>Policies</Link> /
          </p>
          <h1 data-testid="policy-title">{policy.name}</h1>
          <p className="muted small">
            <span className="mono">{policy.key}</span> · {policy.service} · v{policy.version} · updated {formatTimestamp(policy.updatedAt)}
          </p>
        </div>
        <div className="toolbar">
          <EffectBadge effect={policy.effect} />
          <PolicyEnabledToggle policy={policy} canEdit={agent?.viewerRole === 'owner'} />
          <Link className="btn btn-sm" href={auditHref({ policy: policy.id })} data-testid="policy-audit-link">
            Calls it matched
          </Link>
        </div>
      </div>
      {savedVersion === policy.version ? (
        <p className="notice" role="status" data-testid="policy-saved">
          Saved as version {policy.version}. It applies from the next call.
        </p>
      ) : null}
      <PolicyEditorBody
        key={`${policy.id}:${policy.version}`}
        policy={policy}
        connectors={data.connectors}
        context={context.data ?? null}
        selectedVersion={selectedVersion}
        onSelectVersion={(version) => setParams({ version: version === null ? null : String(version) })}
        onSaved={setSavedVersion}
      />
    </div>
  );
}

function PolicyEditorBody({
  policy,
  connectors,
  context,
  selectedVersion,
  onSelectVersion,
  onSaved,
}: {
  policy: Policy;
  connectors: Connectors;
  context: AgentContext | null;
  selectedVersion: number | null;
  onSelectVersion: (version: number | null) => void;
  onSaved: (version: number) => void;
}) {
  const [initial] = useState<PolicyDraft>(() => draftFromContent(policy));
  const [draft, setDraft] = useState<PolicyDraft>(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saveState, save] = useMutation(PolicyEditor_Save);
  const canEdit = context?.agent?.viewerRole === 'owner';
  const members = context?.members ?? [];
  const dirty = contentJson(draft) !== contentJson(initial);
  const draftErrors = validateDraft(draft);
  const draftInput = Object.keys(draftErrors).length ? null : toPolicyInput(draft, { includeKey: false, includeEnabled: false });

  const onSave = async () => {
    setErrors(draftErrors);
    if (!draftInput) return;
    const result = await save({ id: policy.id, input: draftInput });
    if (result.error) {
      setErrors({ _form: describeError(result.error) });
      return;
    }
    const payload = result.data?.savePolicy;
    const typed = asTypedError(payload);
    if (typed) {
      setErrors(fieldErrorsFrom(typed, POLICY_FIELDS));
      return;
    }
    if (payload?.__typename === 'PolicyPayload') onSaved(payload.policy.version);
  };

  return (
    <>
      <div className="policy-layout">
        <section className="card" aria-label="Policy">
          <div className="card-title-row">
            <h2 className="card-title">Policy</h2>
            {dirty ? (
              <span className="badge badge-warn" data-testid="policy-dirty">
                Unsaved changes
              </span>
            ) : null}
          </div>
          {!canEdit && context ? <p className="notice">Only owners of this agent can change its policies.</p> : null}
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void onSave();
            }}
          >
            <PolicyForm
              draft={draft}
              onChange={(next) => {
                setDraft(next);
                if (Object.keys(errors).length) setErrors({});
              }}
              errors={errors}
              connectors={connectors}
              members={members}
              timezone={context?.agent?.timezone ?? 'UTC'}
              readOnly={!canEdit}
              keyEditable={false}
              showEnabled={false}
            />
            <FieldError message={errors._form} testId="policy-form-error" />
            {canEdit ? (
              <div className="form-actions">
                <button type="submit" className="btn btn-primary" disabled={!dirty || saveState.fetching} data-testid="policy-save">
                  {saveState.fetching ? 'Saving…' : `Save as v${policy.version + 1}`}
                </button>
                <button
                  type="button"
                  className="btn btn-ghost"
                  disabled={!dirty || saveState.fetching}
                  onClick={() => {
                    setDraft(initial);
                    setErrors({});
                  }}
                  data-testid="policy-reset"
                >
                  Discard changes
                </button>
              </div>
            ) : null}
          </form>
        </section>
        <div className="stack">
          <CedarPreview cedar={policy.cedar} title={`Cedar (saved v${policy.version})`} />
          {dirty ? <p className="muted small">The preview shows the saved version. Simulate shows the Cedar of your draft.</p> : null}
          <VersionHistory
            policyId={policy.id}
            service={policy.service}
            currentVersion={policy.version}
            versions={policy.versions}
            selected={selectedVersion}
            onSelect={onSelectVersion}
            canEdit={canEdit}
          />
        </div>
      </div>
      {context?.agent ? (
        <div className="policy-tools">
          <SimulatePanel
            agentId={policy.agentId}
            services={context.agent.enabledServices}
            connectors={connectors}
            members={members}
            defaultService={draft.service}
            draftInput={draftInput}
            replacesPolicyId={policy.id}
            onDraftErrors={setErrors}
          />
          <ReplayPanel agentId={policy.agentId} draftInput={draftInput} replacesPolicyId={policy.id} />
        </div>
      ) : null}
    </>
  );
}
