'use client';

import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '@/graphql';
import { asTypedError, describeError } from '@/lib/errors';

const PolicyEnabledToggle_SetEnabled = graphql(`
  mutation PolicyEnabledToggle_SetEnabled($id: ID!, $enabled: Boolean!) {
    setPolicyEnabled(id: $id, enabled: $enabled) {
      __typename
      ... on PolicyPayload {
        policy {
          id
          enabled
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

/** Enables or disables a policy; it applies from the very next call (spec §3), so no confirmation. */
export function PolicyEnabledToggle({ policy, canEdit }: { policy: { id: string; name: string; enabled: boolean }; canEdit: boolean }) {
  const [state, setEnabled] = useMutation(PolicyEnabledToggle_SetEnabled);
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="toggle-wrap">
      <label className="switch" title={canEdit ? (policy.enabled ? 'Disable this policy' : 'Enable this policy') : 'Only owners can change policies'}>
        <input
          type="checkbox"
          role="switch"
          checked={policy.enabled}
          disabled={!canEdit || state.fetching}
          aria-label={`${policy.name} enabled`}
          data-testid="policy-enabled-toggle"
          data-policy-id={policy.id}
          onChange={async (e) => {
            setError(null);
            const result = await setEnabled({ id: policy.id, enabled: e.target.checked });
            const typed = asTypedError(result.data?.setPolicyEnabled);
            if (result.error) setError(describeError(result.error));
            else if (typed) setError(typed.message);
          }}
        />
        <span className="switch-track" aria-hidden="true" />
        <span className="switch-label">{policy.enabled ? 'On' : 'Off'}</span>
      </label>
      {error ? (
        <span className="field-error" role="alert" data-testid="policy-enabled-error">
          {error}
        </span>
      ) : null}
    </span>
  );
}
