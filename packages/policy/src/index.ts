export {
  type Effect,
  type ConditionOp,
  type TimeWindow,
  type ArgumentCondition,
  type PolicyContent,
  type ValidationIssue,
  type ParseResult,
  DENY_MESSAGE_MAX,
  SERVICE_KEY_PATTERN,
  POLICY_KEY_PATTERN,
  policyContentSchema,
  parsePolicyContent,
  isValidServiceKey,
  parseToolName,
  derivePolicyKey,
  toolArgumentsNeeded,
} from './content.ts';
export { compilePolicyToCedar, PolicyCompileError, isValidNamespace, cedarString, memberUid, actionUid, serviceUid } from './cedar-text.ts';
export {
  type EnginePolicy,
  type AgentPolicies,
  type DecisionAgent,
  type DecisionRequest,
  type MatchedPolicy,
  type DecisionRule,
  type Decision,
  type PolicyEngineOptions,
  PolicyEngine,
} from './engine.ts';
export { type ReplayEntry, type ReplayChange, type ReplayInput, type ReplayResult, REDACTED, replayDraft } from './replay.ts';
export { couldEverAllow } from './tool-visibility.ts';
export { type LocalTime, localTimeIn, isValidTimeZone } from './local-time.ts';
export { isValidCidr, normalizeCallerIp } from './ip.ts';
