'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '@/graphql';
import { asTypedError, describeError, fieldErrorsFrom, type FieldErrors } from '@/lib/errors';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel, FieldError } from '@/components/ui/error-panel';
import { POLICY_FIELDS, emptyDraft, toPolicyInput, validateDraft, type PolicyDraft } from './policy-draft';
import { PolicyForm } from './policy-form';
import { PolicySkeleton } from './policy-skeleton';
import { ReplayPanel } from './replay-panel';
import { SimulatePanel } from './simulate-panel';

const PolicyCreate_Context = graphql(`
  query PolicyCreate_Context($agentId: ID!) {
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

const PolicyCreate_Create = graphql(`
  mutation PolicyCreate_Create($agentId: ID!, $input: PolicyInput!) {
    createPolicy(agentId: $agentId, input: $input) {
      __typename
      ... on PolicyPayload {
        policy {
          id
          version
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

/** /agents/[id]/policies/new: the same form as a policy's page, with Simulate and Replay before creating. */
export function PolicyCreate({ agentId }: { agentId: string }) {
  const [{ data, error }, refetch] = useQuery({ query: PolicyCreate_Context, variables: { agentId } });
  if (error && !data) return <ErrorPanel title="Could not load the agent" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!data) return <PolicySkeleton />;
  if (!data.agent) {
    return (
      <EmptyState title="Agent not found" testId="agent-not-found">
        <p>
          There is no agent with this id, or you are not one of its members. <Link href="/agents">Back to agents</Link>
        </p>
      </EmptyState>
    );
  }
  return <PolicyCreateBody context={data} agent={data.agent} />;
}

type Context = ResultOf<typeof PolicyCreate_Context>;

function PolicyCreateBody({ context, agent }: { context: Context; agent: NonNullable<Context['agent']> }) {
  const router = useRouter();
  const [draft, setDraft] = useState<PolicyDraft>(() => emptyDraft(agent.enabledServices[0] ?? ''));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [state, create] = useMutation(PolicyCreate_Create);
  const canEdit = agent.viewerRole === 'owner';
  const draftErrors = validateDraft(draft);
  const draftInput = Object.keys(draftErrors).length ? null : toPolicyInput(draft, { includeKey: true, includeEnabled: false });

  const onCreate = async () => {
    setErrors(draftErrors);
    if (!draftInput) return;
    const result = await create({ agentId: agent.id, input: { ...draftInput, enabled: draft.enabled } });
    if (result.error) {
      setErrors({ _form: describeError(result.error) });
      return;
    }
    const payload = result.data?.createPolicy;
    const typed = asTypedError(payload);
    if (typed) {
      setErrors(fieldErrorsFrom(typed, POLICY_FIELDS));
      return;
    }
    if (payload?.__typename === 'PolicyPayload') router.push(`/policies/${payload.policy.id}`);
  };

  return (
    <div className="stack" data-testid="policy-create-page">
      <div className="page-header">
        <div>
          <p className="breadcrumb">
            <Link href="/agents">Agents</Link> / <Link href={`/agents/${agent.id}`}>{agent.name}</Link> /{' '}
            <Link href={`/agents/${agent.id}/policies`}>Policies</Link> /
          </p>
          <h1>New policy</h1>
        </div>
      </div>
      {!canEdit ? <p className="notice">Only owners of this agent can create policies.</p> : null}
      <section className="card" aria-label="New policy">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void onCreate();
          }}
        >
          <PolicyForm
            draft={draft}
            onChange={(next) => {
              setDraft(next);
              if (Object.keys(errors).length) setErrors({});
            }}
            errors={errors}
            connectors={context.connectors}
            members={context.members}
            timezone={agent.timezone}
            readOnly={!canEdit}
            keyEditable
            showEnabled
          />
          <FieldError message={errors._form} testId="policy-form-error" />
          {canEdit ? (
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={state.fetching} data-testid="policy-create-submit">
                {state.fetching ? 'Creating…' : 'Create policy'}
              </button>
              <Link className="btn btn-ghost" href={`/agents/${agent.id}/policies`}>
                Cancel
              </Link>
            </div>
          ) : null}
        </form>
      </section>
      <div className="policy-tools">
        <SimulatePanel
          agentId={agent.id}
          services={agent.enabledServices}
          connectors={context.connectors}
          members={context.members}
          defaultService={draft.service}
          draftInput={draftInput}
          onDraftErrors={setErrors}
        />
        <ReplayPanel agentId={agent.id} draftInput={draftInput} />
      </div>
    </div>
  );
}
