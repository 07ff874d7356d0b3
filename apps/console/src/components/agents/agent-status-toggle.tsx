'use client';

import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '@/graphql';
import { asTypedError, describeError } from '@/lib/errors';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';

const AgentStatusToggle_SetStatus = graphql(`
  mutation AgentStatusToggle_SetStatus($id: ID!, $status: AgentStatus!) {
    setAgentStatus(id: $id, status: $status) {
      __typename
      ... on AgentPayload {
        agent {
          id
          status
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

/** The emergency stop. The dialog says exactly what disabling (or re-enabling) does before it happens. */
export function AgentStatusToggle({
  agent,
}: {
  agent: { id: string; name: string; status: 'active' | 'disabled'; viewerRole: 'owner' | 'member' };
}) {
  // The status being asked for, fixed when the dialog opens so its text cannot flip mid-action.
  const [target, setTarget] = useState<'active' | 'disabled' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [state, setStatus] = useMutation(AgentStatusToggle_SetStatus);
  const disabling = agent.status === 'active';

  if (agent.viewerRole !== 'owner') return null;

  const confirm = async () => {
    setError(null);
    if (!target) return;
    const result = await setStatus({ id: agent.id, status: target });
    const typed = asTypedError(result.data?.setAgentStatus);
    if (result.error) setError(describeError(result.error));
    else if (typed) setError(typed.message);
    else setTarget(null);
  };

  return (
    <>
      <button
        type="button"
        className={disabling ? 'btn btn-sm btn-danger' : 'btn btn-sm btn-primary'}
        onClick={() => {
          setError(null);
          setTarget(disabling ? 'disabled' : 'active');
        }}
        data-testid="agent-status-toggle"
        data-agent-id={agent.id}
        data-status={agent.status}
      >
        {disabling ? 'Disable (emergency stop)' : 'Re-enable'}
      </button>
      {/* Mounted only while open: a list has one toggle per agent, and one dialog is enough. */}
      {target ? (
        <ConfirmDialog
          open
          title={target === 'disabled' ? `Disable ${agent.name}?` : `Re-enable ${agent.name}?`}
          confirmLabel={target === 'disabled' ? 'Disable agent' : 'Re-enable agent'}
          danger={target === 'disabled'}
          busy={state.fetching}
          error={error}
          onConfirm={confirm}
          onCancel={() => setTarget(null)}
          testId="agent-status-dialog"
        >
          {target === 'disabled' ? (
            <p>
              All MCP calls of every member of <strong>{agent.name}</strong> will be refused with 403 until re-enabled. Keys,
              members and policies stay as they are.
            </p>
          ) : (
            <p>
              Members of <strong>{agent.name}</strong> will be able to call tools again, subject to its policies.
            </p>
          )}
        </ConfirmDialog>
      ) : null}
    </>
  );
}
