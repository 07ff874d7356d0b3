'use client';

import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '@/graphql';
import { asTypedError, describeError } from '@/lib/errors';
import { formatTimestamp } from '@/lib/format';
import { StatusBadge } from '@/components/ui/badges';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { EmptyState } from '@/components/ui/empty-state';
import { ErrorPanel } from '@/components/ui/error-panel';
import { LoadingRegion, SkeletonRows } from '@/components/ui/skeleton';
import { useViewer } from '@/components/shell/viewer-context';
import { KeyRevealDialog } from './key-reveal-dialog';

const AgentMembers_Members = graphql(`
  query AgentMembers_Members($agentId: ID!) {
    agent(id: $agentId) {
      id
      name
      viewerRole
    }
    members(agentId: $agentId) {
      id
      accountId
      displayName
      email
      role
      status
      createdAt
      key {
        keyId
        suffix
        createdAt
      }
    }
  }
`);

const AgentMembers_SetStatus = graphql(`
  mutation AgentMembers_SetStatus($agentId: ID!, $memberId: ID!, $status: MemberStatus!) {
    setMemberStatus(agentId: $agentId, memberId: $memberId, status: $status) {
      __typename
      ... on MemberPayload {
        member {
          id
          status
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

const AgentMembers_RotateKey = graphql(`
  mutation AgentMembers_RotateKey($agentId: ID!, $memberId: ID!) {
    rotateMemberKey(agentId: $agentId, memberId: $memberId) {
      __typename
      ... on MemberKeyPayload {
        key
        keyId
        suffix
        member {
          id
          key {
            keyId
            suffix
            createdAt
          }
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

const AgentMembers_RevokeKey = graphql(`
  mutation AgentMembers_RevokeKey($agentId: ID!, $memberId: ID!) {
    revokeMemberKey(agentId: $agentId, memberId: $memberId) {
      __typename
      ... on MemberPayload {
        member {
          id
          key {
            keyId
            suffix
            createdAt
          }
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

type Member = ResultOf<typeof AgentMembers_Members>['members'][number];
type Pending =
  | { kind: 'reject'; member: Member }
  | { kind: 'rotate'; member: Member }
  | { kind: 'revoke'; member: Member };

/**
 * Members of an agent: owners approve or reject them and manage every key; a member manages only
 * their own key (spec §2).
 */
export function AgentMembers({ agentId }: { agentId: string }) {
  const viewer = useViewer();
  const [{ data, error }, refetch] = useQuery({ query: AgentMembers_Members, variables: { agentId } });
  const [, setStatus] = useMutation(AgentMembers_SetStatus);
  const [, rotateKey] = useMutation(AgentMembers_RotateKey);
  const [, revokeKey] = useMutation(AgentMembers_RevokeKey);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ key: string; keyId: string; suffix: string; memberName: string } | null>(null);

  if (error && !data) return <ErrorPanel title="Could not load members" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (!data) return <MembersSkeleton />;

  const isOwner = data.agent?.viewerRole === 'owner';
  const members = data.members;
  const pendingCount = members.filter((m) => m.status === 'pending').length;

  /** Runs a member action; a typed error lands on the member's row (or the open dialog). */
  const run = async (member: Member, action: () => Promise<string | null>, inDialog = false) => {
    setBusy(member.id);
    setRowErrors((e) => ({ ...e, [member.id]: '' }));
    setDialogError(null);
    const message = await action();
    setBusy(null);
    if (message) {
      if (inDialog) setDialogError(message);
      else setRowErrors((e) => ({ ...e, [member.id]: message }));
      return false;
    }
    return true;
  };

  const changeStatus = (member: Member, status: 'approved' | 'rejected', inDialog = false) =>
    run(
      member,
      async () => {
        const result = await setStatus({ agentId, memberId: member.id, status });
        if (result.error) return describeError(result.error);
        return asTypedError(result.data?.setMemberStatus)?.message ?? null;
      },
      inDialog,
    );

  const rotate = (member: Member, inDialog = false) =>
    run(
      member,
      async () => {
        const result = await rotateKey({ agentId, memberId: member.id });
        if (result.error) return describeError(result.error);
        const payload = result.data?.rotateMemberKey;
        const typed = asTypedError(payload);
        if (typed) return typed.message;
        if (payload?.__typename === 'MemberKeyPayload') {
          setSecret({ key: payload.key, keyId: payload.keyId, suffix: payload.suffix, memberName: member.displayName || member.email });
        }
        return null;
      },
      inDialog,
    );

  const revoke = (member: Member) =>
    run(
      member,
      async () => {
        const result = await revokeKey({ agentId, memberId: member.id });
        if (result.error) return describeError(result.error);
        return asTypedError(result.data?.revokeMemberKey)?.message ?? null;
      },
      true,
    );

  const confirmPending = async () => {
    if (!pending) return;
    const ok =
      pending.kind === 'reject'
        ? await changeStatus(pending.member, 'rejected', true)
        : pending.kind === 'rotate'
          ? await rotate(pending.member, true)
          : await revoke(pending.member);
    if (ok) setPending(null);
  };

  return (
    <div className="stack" data-testid="agent-members">
      {pendingCount && isOwner ? (
        <p className="notice notice-warn" data-testid="members-pending-notice">
          {pendingCount} {pendingCount === 1 ? 'member is' : 'members are'} waiting for approval. Until approved, their calls are
          refused with 403.
        </p>
      ) : null}
      {members.length === 0 ? (
        <EmptyState title="No members" testId="members-empty">
          <p>Members join an agent through the API; once they do, approve them here and give them a key.</p>
        </EmptyState>
      ) : (
        <table className="table" data-testid="members-table">
          <thead>
            <tr>
              <th>Member</th>
              <th>Role</th>
              <th>Status</th>
              <th>Key</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {members.map((member) => {
              const isSelf = member.accountId === viewer.id;
              const canManageKey = isOwner || isSelf;
              const rowBusy = busy === member.id;
              return (
                <tr key={member.id} data-testid="member-row" data-member-id={member.id} data-status={member.status}>
                  <td>
                    <div>{member.displayName || member.email}</div>
                    <div className="muted small">
                      {member.email}
                      {isSelf ? ' (you)' : ''}
                    </div>
                  </td>
                  <td>{member.role}</td>
                  <td>
                    <StatusBadge status={member.status} testId="member-status" />
                  </td>
                  <td className="small" data-testid="member-key">
                    {member.key ? (
                      <>
                        <span className="mono">…{member.key.suffix}</span>
                        <div className="muted">since {formatTimestamp(member.key.createdAt)}</div>
                      </>
                    ) : (
                      <span className="muted">no key</span>
                    )}
                  </td>
                  <td className="actions">
                    {isOwner && member.status !== 'approved' ? (
                      <button
                        type="button"
                        className="btn btn-sm btn-primary"
                        disabled={rowBusy}
                        onClick={() => changeStatus(member, 'approved')}
                        data-testid="member-approve"
                      >
                        Approve
                      </button>
                    ) : null}
                    {isOwner && member.status !== 'rejected' && member.role !== 'owner' ? (
                      <button
                        type="button"
                        className="btn btn-sm"
                        disabled={rowBusy}
                        onClick={() => (member.status === 'pending' ? changeStatus(member, 'rejected') : setPending({ kind: 'reject', member }))}
                        data-testid="member-reject"
                      >
                        Reject
                      </button>
                    ) : null}
                    {canManageKey ? (
                      <button
                        type="button"
                        className="btn btn-sm"
                        disabled={rowBusy}
                        onClick={() => (member.key ? setPending({ kind: 'rotate', member }) : rotate(member))}
                        data-testid="member-rotate-key"
                      >
                        {member.key ? 'Rotate key' : 'Create key'}
                      </button>
                    ) : null}
                    {canManageKey && member.key ? (
                      <button
                        type="button"
                        className="btn btn-sm btn-ghost"
                        disabled={rowBusy}
                        onClick={() => setPending({ kind: 'revoke', member })}
                        data-testid="member-revoke-key"
                      >
                        Revoke key
                      </button>
                    ) : null}
                    {rowErrors[member.id] ? (
                      <p className="field-error" role="alert" data-testid="member-error">
                        {rowErrors[member.id]}
                      </p>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <ConfirmDialog
        open={pending !== null}
        title={
          pending?.kind === 'reject'
            ? `Reject ${pending.member.displayName || pending.member.email}?`
            : pending?.kind === 'rotate'
              ? 'Rotate this key?'
              : 'Revoke this key?'
        }
        confirmLabel={pending?.kind === 'reject' ? 'Reject member' : pending?.kind === 'rotate' ? 'Rotate key' : 'Revoke key'}
        danger
        busy={pending !== null && busy === pending.member.id}
        error={dialogError}
        onConfirm={confirmPending}
        onCancel={() => {
          setPending(null);
          setDialogError(null);
        }}
        testId="member-dialog"
      >
        {pending?.kind === 'reject' ? (
          <p>Their MCP calls will be refused with 403. Their key stays, but cannot be used until they are approved again.</p>
        ) : pending?.kind === 'rotate' ? (
          <p>
            The current key (ending in <span className="mono">…{pending.member.key?.suffix}</span>) stops working at once. Clients
            using it get 401 until they are given the new key, which is shown once.
          </p>
        ) : pending ? (
          <p>
            The key ending in <span className="mono">…{pending.member.key?.suffix}</span> stops working at once. The member keeps
            their membership and can be given a new key later.
          </p>
        ) : null}
      </ConfirmDialog>

      <KeyRevealDialog secret={secret} memberName={secret?.memberName ?? ''} onClose={() => setSecret(null)} />
    </div>
  );
}

export function MembersSkeleton() {
  return (
    <LoadingRegion label="Loading members">
      <SkeletonRows rows={5} columns={5} />
    </LoadingRegion>
  );
}
