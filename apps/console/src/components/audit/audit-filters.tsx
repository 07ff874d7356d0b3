'use client';

import { useEffect, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '@/graphql';
import type { AuditFilterErrors, AuditFilterKey, AuditFilterParams } from '@/lib/audit-filter';
import { FieldError } from '@/components/ui/error-panel';

const AuditFilters_Options = graphql(`
  query AuditFilters_Options($agentId: ID) {
    connectors {
      service
      name
    }
    members(agentId: $agentId) {
      id
      displayName
      email
      agentName
      role
    }
  }
`);

type TextKey = 'tool' | 'agent' | 'policy' | 'from' | 'to';
const TEXT_FIELDS: readonly { key: TextKey; label: string; placeholder: string }[] = [
  { key: 'tool', label: 'Tool', placeholder: 'e.g. delete_file (part of the name)' },
  { key: 'agent', label: 'Agent', placeholder: 'part of the agent name' },
  { key: 'policy', label: 'Policy id', placeholder: 'click a matched policy' },
  { key: 'from', label: 'From', placeholder: '2026-05-01 or 2026-05-01T14:00' },
  { key: 'to', label: 'To', placeholder: '2026-05-31 (whole day)' },
];
const DEBOUNCE_MS = 400;

/**
 * Every filter of spec §6 as a form control. Selects apply at once; text fields apply after a pause in
 * typing, on Enter, or on leaving the field. The URL is the state: controls follow it when it changes
 * elsewhere (a click on a member, back/forward), except the one being typed in.
 */
export function AuditFilters({
  filter,
  errors,
  scopedAgentId,
  onChange,
}: {
  filter: AuditFilterParams;
  errors: AuditFilterErrors;
  scopedAgentId?: string;
  onChange: (changes: Partial<Record<AuditFilterKey, string | null>>) => void;
}) {
  const [options] = useQuery({ query: AuditFilters_Options, variables: { agentId: scopedAgentId ?? null } });
  const [draft, setDraft] = useState<Record<TextKey, string>>(() => pickText(filter));
  const timers = useRef(new Map<TextKey, ReturnType<typeof setTimeout>>());

  const urlText = pickText(filter);
  const urlKey = JSON.stringify(urlText);
  useEffect(() => {
    const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement.name : null;
    setDraft((current) => {
      const next = { ...current };
      for (const key of Object.keys(urlText) as TextKey[]) if (key !== focused) next[key] = urlText[key];
      return next;
    });
    // Runs when the URL's text filters change; urlKey is their serialised content.
  }, [urlKey]);

  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  const commit = (key: TextKey, value: string) => {
    const timer = timers.current.get(key);
    if (timer) clearTimeout(timer);
    timers.current.delete(key);
    if ((filter[key] ?? '') !== value.trim()) onChange({ [key]: value.trim() || null });
  };

  const serviceValue = filter.service ?? '';
  const memberValue = filter.member ?? '';
  const connectors = options.data?.connectors ?? [];
  const members = options.data?.members ?? [];
  const hasAny = Object.entries(filter).some(([key, value]) => value && (key !== 'agentId' || !scopedAgentId));

  return (
    <form
      className="filters"
      data-testid="audit-filters"
      onSubmit={(event) => {
        event.preventDefault();
        for (const { key } of TEXT_FIELDS) commit(key, draft[key]);
      }}
    >
      <div className="field">
        <label htmlFor="filter-result">Result</label>
        <select
          id="filter-result"
          name="result"
          value={filter.result ?? ''}
          onChange={(e) => onChange({ result: e.target.value || null })}
          aria-invalid={Boolean(errors.result)}
          data-testid="filter-result"
        >
          <option value="">Any</option>
          <option value="ALLOW">ALLOW</option>
          <option value="DENY">DENY</option>
          {filter.result && filter.result !== 'ALLOW' && filter.result !== 'DENY' ? <option value={filter.result}>{filter.result}</option> : null}
        </select>
        <FieldError message={errors.result} testId="filter-result-error" />
      </div>

      <div className="field">
        <label htmlFor="filter-service">Service</label>
        <select
          id="filter-service"
          name="service"
          value={serviceValue}
          onChange={(e) => onChange({ service: e.target.value || null })}
          data-testid="filter-service"
        >
          <option value="">Any</option>
          {connectors.map((c) => (
            <option key={c.service} value={c.service}>
              {c.service}
            </option>
          ))}
          {serviceValue && !connectors.some((c) => c.service === serviceValue) ? <option value={serviceValue}>{serviceValue}</option> : null}
        </select>
      </div>

      <div className="field">
        <label htmlFor="filter-member">Member</label>
        <select
          id="filter-member"
          name="member"
          value={memberValue}
          onChange={(e) => onChange({ member: e.target.value || null })}
          aria-invalid={Boolean(errors.member)}
          data-testid="filter-member"
        >
          <option value="">Any</option>
          {members.map((m) => (
            <option key={m.id} value={m.id}>
              {m.displayName || m.email}
              {scopedAgentId ? '' : ` · ${m.agentName}`}
            </option>
          ))}
          {memberValue && !members.some((m) => m.id === memberValue) ? <option value={memberValue}>{memberValue}</option> : null}
        </select>
        <FieldError message={errors.member} testId="filter-member-error" />
      </div>

      {TEXT_FIELDS.filter(({ key }) => !(key === 'agent' && scopedAgentId)).map(({ key, label, placeholder }) => (
        <div className="field" key={key}>
          <label htmlFor={`filter-${key}`}>
            {label}
            {key === 'from' || key === 'to' ? <span className="muted small"> (UTC)</span> : null}
          </label>
          <input
            id={`filter-${key}`}
            name={key}
            type="text"
            value={draft[key]}
            placeholder={placeholder}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={Boolean(errors[key])}
            aria-describedby={errors[key] ? `filter-${key}-error` : undefined}
            data-testid={`filter-${key}`}
            onChange={(e) => {
              const value = e.target.value;
              setDraft((d) => ({ ...d, [key]: value }));
              const timer = timers.current.get(key);
              if (timer) clearTimeout(timer);
              timers.current.set(
                key,
                setTimeout(() => commit(key, value), DEBOUNCE_MS),
              );
            }}
            onBlur={(e) => commit(key, e.target.value)}
          />
          <FieldError id={`filter-${key}-error`} message={errors[key]} testId={`filter-${key}-error`} />
        </div>
      ))}

      <div className="field filters-actions">
        <button type="submit" className="visually-hidden" tabIndex={-1}>
          Apply filters
        </button>
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          disabled={!hasAny}
          data-testid="filter-clear"
          onClick={() => {
            setDraft({ tool: '', agent: '', policy: '', from: '', to: '' });
            onChange({ result: null, service: null, tool: null, agent: null, member: null, policy: null, from: null, to: null, ...(scopedAgentId ? {} : { agentId: null }) });
          }}
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}

function pickText(filter: AuditFilterParams): Record<TextKey, string> {
  return { tool: filter.tool ?? '', agent: filter.agent ?? '', policy: filter.policy ?? '', from: filter.from ?? '', to: filter.to ?? '' };
}
