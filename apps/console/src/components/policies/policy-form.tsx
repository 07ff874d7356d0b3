'use client';

import type { ReactNode } from 'react';
import type { FieldErrors } from '@/lib/errors';
import { DAY_NAMES } from '@/lib/format';
import { TierBadge } from '@/components/ui/badges';
import { FieldError } from '@/components/ui/error-panel';
import { CONDITION_OPS, DENY_MESSAGE_MAX, type ConditionOp, type PolicyDraft } from './policy-draft';

export interface ConnectorOption {
  service: string;
  name: string;
  tools: readonly { name: string; description: string; tier: string }[];
}

export interface MemberOption {
  id: string;
  displayName: string;
  email: string;
  status: string;
}

function errorFor(errors: FieldErrors, ...keys: string[]): string | undefined {
  for (const key of keys) if (errors[key]) return errors[key];
  return undefined;
}

/**
 * The structured policy form (spec §2): what admins edit instead of Cedar. Controlled: the editor
 * owns the draft, so Simulate and Replay can run the same draft before it is saved.
 */
export function PolicyForm({
  draft,
  onChange,
  errors,
  connectors,
  members,
  timezone,
  readOnly,
  keyEditable,
  showEnabled,
}: {
  draft: PolicyDraft;
  onChange: (draft: PolicyDraft) => void;
  errors: FieldErrors;
  connectors: readonly ConnectorOption[];
  members: readonly MemberOption[];
  timezone: string;
  readOnly: boolean;
  keyEditable: boolean;
  showEnabled: boolean;
}) {
  const set = <K extends keyof PolicyDraft>(key: K, value: PolicyDraft[K]) => onChange({ ...draft, [key]: value });
  const connector = connectors.find((c) => c.service === draft.service);
  const catalogTools = connector?.tools ?? [];
  const unknownTools = draft.tools.filter((tool) => !catalogTools.some((t) => t.name === tool));
  const toggleIn = <T,>(list: readonly T[], item: T) => (list.includes(item) ? list.filter((x) => x !== item) : [...list, item]);

  return (
    <fieldset className="policy-form" disabled={readOnly} data-testid="policy-form">
      <Field label="Name" htmlFor="policy-name" error={errors.name} errorTestId="policy-error-name">
        <input
          id="policy-name"
          name="name"
          value={draft.name}
          onChange={(e) => set('name', e.target.value)}
          aria-invalid={Boolean(errors.name)}
          data-testid="policy-name"
        />
      </Field>

      <Field
        label="Key"
        htmlFor="policy-key"
        error={errors.key}
        errorTestId="policy-error-key"
        hint={keyEditable ? 'Optional: derived from the name when empty. Audit entries name policies by key.' : 'The key cannot change after creation.'}
      >
        <input
          id="policy-key"
          name="key"
          className="mono"
          value={draft.key}
          readOnly={!keyEditable}
          onChange={(e) => set('key', e.target.value)}
          aria-invalid={Boolean(errors.key)}
          data-testid="policy-key"
        />
      </Field>

      <div className="form-row">
        <Field label="Service" htmlFor="policy-service" error={errors.service} errorTestId="policy-error-service">
          <select
            id="policy-service"
            name="service"
            value={draft.service}
            onChange={(e) => onChange({ ...draft, service: e.target.value, tools: [] })}
            aria-invalid={Boolean(errors.service)}
            data-testid="policy-service"
          >
            <option value="">Choose a service</option>
            {connectors.map((c) => (
              <option key={c.service} value={c.service}>
                {c.name} ({c.service})
              </option>
            ))}
            {draft.service && !connector ? <option value={draft.service}>{draft.service}</option> : null}
          </select>
        </Field>

        <div className="field">
          <span className="label" id="policy-effect-label">
            Effect
          </span>
          <div className="radio-row" role="radiogroup" aria-labelledby="policy-effect-label">
            {(['permit', 'forbid'] as const).map((effect) => (
              <label key={effect} className="radio">
                <input
                  type="radio"
                  name="effect"
                  value={effect}
                  checked={draft.effect === effect}
                  onChange={() => set('effect', effect)}
                  data-testid={`policy-effect-${effect}`}
                />
                {effect === 'permit' ? 'Permit (allow)' : 'Forbid (deny, always wins)'}
              </label>
            ))}
          </div>
          <FieldError message={errors.effect} testId="policy-error-effect" />
        </div>
      </div>

      <div className="field">
        <span className="label">Tools</span>
        <p className="hint">{draft.tools.length ? `${draft.tools.length} selected` : `None selected: the policy covers every tool of ${draft.service || 'the service'}.`}</p>
        {draft.service ? (
          catalogTools.length || unknownTools.length ? (
            <div className="checkbox-grid" data-testid="policy-tools">
              {catalogTools.map((tool) => (
                <label key={tool.name} className="checkbox" title={tool.description}>
                  <input
                    type="checkbox"
                    name="tools"
                    value={tool.name}
                    checked={draft.tools.includes(tool.name)}
                    onChange={() => set('tools', toggleIn(draft.tools, tool.name))}
                    data-testid="policy-tool"
                    data-tool={tool.name}
                  />
                  <span className="mono">{tool.name}</span> <TierBadge tier={tool.tier} />
                </label>
              ))}
              {unknownTools.map((tool) => (
                <label key={tool} className="checkbox" title="Not in the connector's current catalog">
                  <input type="checkbox" name="tools" value={tool} checked onChange={() => set('tools', toggleIn(draft.tools, tool))} data-testid="policy-tool" data-tool={tool} />
                  <span className="mono">{tool}</span> <span className="badge badge-warn">not in catalog</span>
                </label>
              ))}
            </div>
          ) : (
            <p className="muted small">This connector lists no tools.</p>
          )
        ) : (
          <p className="muted small">Choose a service to pick its tools.</p>
        )}
        <FieldError message={errors.tools} testId="policy-error-tools" />
      </div>

      <div className="field">
        <span className="label" id="policy-principal-label">
          Who
        </span>
        <div className="radio-row" role="radiogroup" aria-labelledby="policy-principal-label">
          <label className="radio">
            <input
              type="radio"
              name="principal"
              checked={draft.principalType === 'all_members'}
              onChange={() => set('principalType', 'all_members')}
              data-testid="policy-principal-all"
            />
            All members
          </label>
          <label className="radio">
            <input
              type="radio"
              name="principal"
              checked={draft.principalType === 'specific_members'}
              onChange={() => set('principalType', 'specific_members')}
              data-testid="policy-principal-specific"
            />
            Specific members
          </label>
        </div>
        {draft.principalType === 'specific_members' ? (
          members.length ? (
            <div className="checkbox-grid" data-testid="policy-members">
              {members.map((member) => (
                <label key={member.id} className="checkbox">
                  <input
                    type="checkbox"
                    name="memberIds"
                    value={member.id}
                    checked={draft.memberIds.includes(member.id)}
                    onChange={() => set('memberIds', toggleIn(draft.memberIds, member.id))}
                    data-testid="policy-member"
                    data-member-id={member.id}
                  />
                  {member.displayName || member.email}
                  {member.status !== 'approved' ? <span className="muted small"> ({member.status})</span> : null}
                </label>
              ))}
            </div>
          ) : (
            <p className="muted small">This agent has no members yet.</p>
          )
        ) : null}
        <FieldError message={errors.principal} testId="policy-error-principal" />
      </div>

      <div className="field">
        <label className="checkbox">
          <input
            type="checkbox"
            name="useTimeWindow"
            checked={draft.useTimeWindow}
            onChange={(e) => set('useTimeWindow', e.target.checked)}
            data-testid="policy-time-window"
          />
          Only at certain times <span className="muted small">(in the agent&rsquo;s time zone, {timezone})</span>
        </label>
        {draft.useTimeWindow ? (
          <div className="time-window" data-testid="policy-time-window-fields">
            <div className="day-row" role="group" aria-label="Days of the week (none: every day)">
              {DAY_NAMES.map((day, index) => (
                <label key={day} className="day">
                  <input
                    type="checkbox"
                    name="daysOfWeek"
                    value={index}
                    checked={draft.daysOfWeek.includes(index)}
                    onChange={() => set('daysOfWeek', toggleIn(draft.daysOfWeek, index))}
                    data-testid="policy-day"
                    data-day={index}
                  />
                  {day}
                </label>
              ))}
            </div>
            <FieldError message={errors['timeWindow.daysOfWeek']} testId="policy-error-days" />
            <div className="form-row">
              <Field label="From hour (0–23)" htmlFor="policy-hours-from" error={errors['timeWindow.hoursFrom']} errorTestId="policy-error-hours-from">
                <input id="policy-hours-from" name="hoursFrom" type="number" min={0} max={23} value={draft.hoursFrom} onChange={(e) => set('hoursFrom', e.target.value)} data-testid="policy-hours-from" />
              </Field>
              <Field label="To hour (0–23, inclusive)" htmlFor="policy-hours-to" error={errors['timeWindow.hoursTo']} errorTestId="policy-error-hours-to">
                <input id="policy-hours-to" name="hoursTo" type="number" min={0} max={23} value={draft.hoursTo} onChange={(e) => set('hoursTo', e.target.value)} data-testid="policy-hours-to" />
              </Field>
              <Field label="Active from" htmlFor="policy-active-from" error={errors['timeWindow.activeFrom']} errorTestId="policy-error-active-from">
                <input id="policy-active-from" name="activeFrom" type="date" value={draft.activeFrom} onChange={(e) => set('activeFrom', e.target.value)} data-testid="policy-active-from" />
              </Field>
              <Field label="Active to" htmlFor="policy-active-to" error={errors['timeWindow.activeTo']} errorTestId="policy-error-active-to">
                <input id="policy-active-to" name="activeTo" type="date" value={draft.activeTo} onChange={(e) => set('activeTo', e.target.value)} data-testid="policy-active-to" />
              </Field>
            </div>
            <FieldError message={errors.timeWindow} testId="policy-error-time-window" />
          </div>
        ) : null}
      </div>

      <div className="field">
        <span className="label">Argument conditions</span>
        <p className="hint">Each compares a top-level tool argument&rsquo;s text; all must hold. None: any arguments.</p>
        {draft.conditions.map((condition, index) => {
          const update = (change: Partial<typeof condition>) =>
            set('conditions', draft.conditions.map((c, i) => (i === index ? { ...c, ...change } : c)));
          return (
            <div className="condition-row" key={index} data-testid="policy-condition">
              <input
                aria-label={`Condition ${index + 1} argument`}
                className="mono"
                placeholder="argument, e.g. path"
                value={condition.key}
                onChange={(e) => update({ key: e.target.value })}
                data-testid="policy-condition-key"
              />
              <select
                aria-label={`Condition ${index + 1} comparison`}
                value={condition.op}
                onChange={(e) => update({ op: e.target.value as ConditionOp })}
                data-testid="policy-condition-op"
              >
                {CONDITION_OPS.map(({ op, label }) => (
                  <option key={op} value={op}>
                    {label}
                  </option>
                ))}
              </select>
              <input
                aria-label={`Condition ${index + 1} value`}
                className="mono"
                placeholder="value"
                value={condition.value}
                onChange={(e) => update({ value: e.target.value })}
                data-testid="policy-condition-value"
              />
              <button
                type="button"
                className="btn btn-ghost btn-sm"
                aria-label={`Remove condition ${index + 1}`}
                onClick={() => set('conditions', draft.conditions.filter((_, i) => i !== index))}
                data-testid="policy-condition-remove"
              >
                Remove
              </button>
            </div>
          );
        })}
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => set('conditions', [...draft.conditions, { key: '', op: 'eq', value: '' }])}
          data-testid="policy-condition-add"
        >
          Add condition
        </button>
        <FieldError message={errors.conditions} testId="policy-error-conditions" />
      </div>

      <Field label="Caller IPs" htmlFor="policy-caller-ips" error={errors.callerIps} errorTestId="policy-error-caller-ips" hint="One IP or CIDR range per line; empty means any address.">
        <textarea
          id="policy-caller-ips"
          name="callerIps"
          className="mono"
          rows={3}
          value={draft.callerIps}
          onChange={(e) => set('callerIps', e.target.value)}
          aria-invalid={Boolean(errors.callerIps)}
          data-testid="policy-caller-ips"
        />
      </Field>

      {draft.effect === 'forbid' ? (
        <Field
          label="Deny message"
          htmlFor="policy-deny-message"
          error={errorFor(errors, 'denyMessage')}
          errorTestId="policy-error-deny-message"
          hint={`Shown to the agent and in the audit log when this policy denies a call. ${draft.denyMessage.length}/${DENY_MESSAGE_MAX}`}
        >
          <textarea
            id="policy-deny-message"
            name="denyMessage"
            rows={3}
            maxLength={DENY_MESSAGE_MAX}
            value={draft.denyMessage}
            onChange={(e) => set('denyMessage', e.target.value)}
            aria-invalid={Boolean(errors.denyMessage)}
            data-testid="policy-deny-message"
          />
        </Field>
      ) : null}

      {showEnabled ? (
        <label className="checkbox">
          <input type="checkbox" name="enabled" checked={draft.enabled} onChange={(e) => set('enabled', e.target.checked)} data-testid="policy-enabled" />
          Enabled from the moment it is created
        </label>
      ) : null}
    </fieldset>
  );
}

function Field({
  label,
  htmlFor,
  error,
  errorTestId,
  hint,
  children,
}: {
  label: string;
  htmlFor: string;
  error?: string;
  errorTestId: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {hint ? <p className="hint">{hint}</p> : null}
      <FieldError message={error} testId={errorTestId} />
    </div>
  );
}
